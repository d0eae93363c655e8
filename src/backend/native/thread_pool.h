// Persistent worker pool shared by every native kernel. Kernels are synchronous calls from a JS thread; one
// parallel region runs at a time (regions from different JS threads queue on a mutex); the calling thread works
// too, and a region started from inside a task runs inline. The caller waits only for workers that joined the
// region before it had claimed every task: on a busy machine a worker that is not scheduled in time is skipped
// instead of stalling every region until it wakes.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <algorithm>
#include <vector>

namespace diffiqa {

class ThreadPool {
 public:
  /// Starts `threads - 1` workers (the caller is the last one); `threads` < 1 means 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  /// Runs fn(task, thread) for task in [0, tasks), tasks claimed dynamically; `thread` in [0, size()) indexes
  /// per-thread scratch. Rethrows the first exception a task threw, after every task has finished.
  void run(int64_t tasks, const std::function<void(int64_t, int)>& fn);

  /// Splits [0, n) into about `size() * chunksPerThread` contiguous ranges and runs fn(begin, end, thread) on each.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn, int chunksPerThread = 4,
                   int64_t minChunk = 1);

 private:
  void workerLoop(int index);
  void drain(int thread);

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::mutex callers_;  // serialises parallel regions started from different JS threads (worker_threads)
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;       // workers inside the current region
  bool closed_ = true;   // the current region takes no more workers (its caller has finished draining)
  std::exception_ptr error_;
};

/// The process-wide pool, created on first use with hardware_concurrency threads or DIFFIQA_NUM_THREADS.
ThreadPool& pool();

/// Range count for orderedReduce: two per thread (at most 16), fewer when the partial results would exceed 64 MB.
/// A function of the sizes and the pool's size (DIFFIQA_NUM_THREADS), never of timing: a run is reproducible with
/// the same thread count. (A fixed 16 ranges, thread-count independent, cost the 2-core im2col filter gradient
/// 20%: 16 short GEMMs and 16 partials instead of 4.)
int64_t reduceRanges(int64_t n, int64_t len);

/// Deterministic parallel sum of per-range results: splits [0, n) into `ranges` fixed contiguous ranges, runs
/// fn(begin, end, partial) for each with its own zeroed `len`-element partial, and writes the partials' sum, added
/// in range order, to out. Unlike per-thread partials (which thread took which range depends on timing), the result
/// is the same for every schedule: training steps are reproducible and resume exactly.
template <typename T, typename Fn>
void orderedReduce(int64_t n, int64_t ranges, int64_t len, Fn fn, T* out) {
  ranges = std::max<int64_t>(1, std::min(ranges, n));
  std::vector<T> parts(static_cast<size_t>(ranges * len), T(0));
  pool().run(ranges, [&](int64_t r, int) { fn(r * n / ranges, (r + 1) * n / ranges, parts.data() + r * len); });
  std::fill(out, out + len, T(0));
  for (int64_t r = 0; r < ranges; ++r)
    for (int64_t i = 0; i < len; ++i) out[i] += parts[static_cast<size_t>(r * len + i)];
}

}  // namespace diffiqa
