"""The reference regressor trainer's gradient clipping, measured (issue: "Fidelity", item 3).

In the DifFIQA(R)/eDifFIQA reference, the frozen backbone tensors keep requires_grad=True, are not in the
optimiser (so optimizer.zero_grad() never zeroes them and GradScaler.unscale_ never unscales them), and enter
clip_grad_norm_(model.parameters(), 5) at the AMP loss scale. This script trains the same regressor twice from
the same initial weights on the same batches:
  reference: loss x 2^16 (GradScaler's initial scale), unscale only the optimiser's tensors, clip over ALL
             parameters (frozen gradients accumulating at scale);
  ours:      fp32, clip over the optimised tensors only (src/train/train-regressor.ts).
and prints the reference's clip coefficient per step and how far each run moved its trainable tensors.

CPU PyTorch has no CUDA GradScaler, so the scale is applied by hand: the same arithmetic in fp32 (fp16
rounding aside). The scale stays 2^16 in a short run (GradScaler doubles it every 2000 finite steps).

  /usr/bin/python3 bench/reference-clip.py [--backbone r18|mfn] [--steps 30] [--batch 16] [--faces DIR]
"""
import argparse
import copy
import glob
import os
import random
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'fr'))
from gen_backbones import IResNet, MobileFaceNet, MFN_FULL  # noqa: E402  (our PyTorch re-implementations)

SCALE = 2.0 ** 16
CLIP = 5.0
LIMIT = 100  # the last 100 backbone tensors train (METHOD §3)


class Regressor(nn.Module):
    """eDifFIQA: backbone `base_model` + MLP D -> 1024 -> GELU -> 1 (`mlp`)."""

    def __init__(self, backbone, dim):
        super().__init__()
        self.base_model = backbone
        self.mlp = nn.Sequential(nn.Linear(dim, 1024), nn.GELU(), nn.Linear(1024, 1))

    def forward(self, x):
        return self.mlp(self.base_model(x)).squeeze(1)


def load_faces(folder, n, size=112):
    from PIL import Image
    files = sorted(glob.glob(os.path.join(folder, '**', '*.jpg'), recursive=True))
    random.Random(0).shuffle(files)
    if not files:
        raise SystemExit(f'reference-clip: no .jpg faces under {folder}')
    imgs = []
    for f in files[:n]:
        im = Image.open(f).convert('RGB').resize((size, size))
        t = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).reshape(size, size, 3).permute(2, 0, 1).float()
        imgs.append((t / 255.0 - 0.5) / 0.5)
    return torch.stack(imgs)


def groups(model):
    backbone = [p for p in model.base_model.parameters()]
    trainable = backbone[-LIMIT:]
    return trainable, list(model.mlp.parameters())


def train(model, batches, targets, reference):
    trainable, head = groups(model)
    opt = torch.optim.Adam([{'params': head, 'lr': 1e-3}, {'params': trainable, 'lr': 1e-4}])
    start = [p.detach().clone() for p in trainable + head]
    loss_fn = nn.L1Loss()
    coefs, losses = [], []
    model.train()
    for x, y in zip(batches, targets):
        opt.zero_grad()  # zeroes the optimiser's tensors only, as the reference
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        if reference:
            (loss * SCALE).backward()
            for p in trainable + head:  # GradScaler.unscale_(optimizer)
                p.grad.div_(SCALE)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        else:
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(trainable + head, CLIP)
        coefs.append(min(1.0, CLIP / (norm.item() + 1e-6)))
        opt.step()
    moved = lambda ps, s: torch.sqrt(sum(((p.detach() - q) ** 2).sum() for p, q in zip(ps, s))).item()
    n = len(trainable)
    return coefs, losses, moved(trainable, start[:n]), moved(head, start[n:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backbone', default='r18', choices=['r18', 'mfn'])
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--faces', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'lfw-112', 'images'))
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    backbone, dim = (IResNet([2, 2, 2, 2]), 512) if a.backbone == 'r18' else (MobileFaceNet(MFN_FULL), 512)
    base = Regressor(backbone, dim)
    faces = load_faces(a.faces, a.steps * a.batch)
    batches = list(faces.split(a.batch))
    gen = torch.Generator().manual_seed(1)
    targets = [torch.rand(len(b), generator=gen) for b in batches]
    frozen = len(list(base.base_model.parameters())) - LIMIT
    print(f'backbone {a.backbone}: {sum(p.numel() for p in base.parameters()) / 1e6:.2f} M parameters, '
          f'{frozen} frozen tensors with requires_grad=True; {a.steps} steps of batch {a.batch} (LFW faces, random targets)')
    ref = train(copy.deepcopy(base), batches, targets, reference=True)
    ours = train(copy.deepcopy(base), batches, targets, reference=False)
    print('step  reference clip coefficient  our clip coefficient')
    for i in range(0, a.steps, max(1, a.steps // 10)):
        print(f'{i + 1:4d}  {ref[0][i]:.3e}  {ours[0][i]:.3e}')
    med = sorted(ref[0])[len(ref[0]) // 2]
    print(f'reference clip coefficient: median {med:.3e}, first {ref[0][0]:.3e}, last {ref[0][-1]:.3e}')
    print(f'distance moved by the trainable backbone tensors: reference {ref[2]:.4e}, ours {ours[2]:.4e} '
          f'(ratio {ref[2] / ours[2]:.3f}); head: reference {ref[3]:.4e}, ours {ours[3]:.4e} (ratio {ref[3] / ours[3]:.3f})')
    print(f'training L1 over the last 5 steps: reference {sum(ref[1][-5:]) / 5:.4f}, ours {sum(ours[1][-5:]) / 5:.4f}')


if __name__ == '__main__':
    main()
