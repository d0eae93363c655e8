/** The `native` backend: tfjs's cpu backend (same data storage and every cpu kernel) with C++ heavy kernels. */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** A MathBackendCPU under its own name, so that `native` kernels can be registered beside the cpu ones. */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU prints "install our node backend to speed things up" on first use in Node; on `native`
    // that advice is wrong (this is the fast path), so mark the notice as already shown.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}
