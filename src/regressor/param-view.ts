/**
 * Prefixed parameter names for a backbone living inside a regressor's store. The FR backbones declare and read
 * their parameters under their own PyTorch names (`conv1.weight`); the reference regressors keep them under a
 * module prefix (`base.conv1.weight` in DifFIQA(R), `base_model.conv1.weight` in eDifFIQA, METHOD §3/§4.1). So
 * the regressor declares the backbone into ONE store through `prefixDeclarer`, and runs the backbone's forward
 * function on `prefixedView(store, prefix)`, a read-only view that adds the prefix on every lookup.
 *
 * Why a view rather than a prefix option: the FR backbones (src/fr) take a ParamStore and have no prefix
 * parameter; ParamStore's lookups (`get`, `has`) are the only calls their forward functions make.
 */
import { ParamStore, type ParamEntry } from '../nn/params.js';
import { Rng } from '../util/rng.js';
import type { ParamDeclarer } from '../fr/declare.js';

/**
 * A declarer that registers every name under `prefix` through `inner`. Every ParamDeclarer method takes the
 * parameter's name first, so the wrapper forwards all of them (including methods added later) generically.
 */
export function prefixDeclarer(inner: ParamDeclarer, prefix: string): ParamDeclarer {
  const out: Record<string, (name: string, ...rest: unknown[]) => void> = {};
  for (const [key, fn] of Object.entries(inner) as [string, (...args: unknown[]) => void][]) {
    out[key] = (name, ...rest) => fn(prefix + name, ...rest);
  }
  return out as unknown as ParamDeclarer;
}

/**
 * A read-only view of the entries of `parent` whose names start with `prefix`, seen without it. It owns no
 * variables: registering through it or disposing it is refused, so the parent stays the single owner.
 */
class PrefixedView extends ParamStore {
  constructor(
    private readonly parent: ParamStore,
    private readonly prefix: string,
  ) {
    super(new Rng(0));
  }

  override add(name: string): never {
    throw new Error(`cannot register '${name}' through a prefixed view of '${this.prefix}'`);
  }

  override get(name: string) {
    return this.parent.get(this.prefix + name);
  }

  override has(name: string): boolean {
    return this.parent.has(this.prefix + name);
  }

  /** Derived tensors live in the parent's cache, so the parent's dispose frees them. */
  override derived(key: string, deps: Parameters<ParamStore['derived']>[1], compute: () => ReturnType<ParamStore['derived']>): ReturnType<ParamStore['derived']> {
    return this.parent.derived(this.prefix + key, deps, compute);
  }

  override entry(name: string): ParamEntry | undefined {
    return this.parent.entry(this.prefix + name);
  }

  override names(): string[] {
    return this.parent
      .names()
      .filter((n) => n.startsWith(this.prefix))
      .map((n) => n.slice(this.prefix.length));
  }

  override dispose(): void {
    // The parent owns the variables.
  }
}

/** A view of `parent` that resolves `name` to `prefix + name` (see the file comment). */
export function prefixedView(parent: ParamStore, prefix: string): ParamStore {
  return new PrefixedView(parent, prefix);
}
