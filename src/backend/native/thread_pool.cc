#include "thread_pool.h"

#include "denormals.h"

#include <algorithm>
#include <cstdlib>

namespace diffiqa {

namespace {
thread_local bool inWorker = false;

int configuredThreads() {
  const char* env = std::getenv("DIFFIQA_NUM_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}
}  // namespace

ThreadPool::ThreadPool(int threads) : size_(std::max(1, threads)) {
  for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::drain(int thread) {
  for (;;) {
    int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= tasks_) break;
    try {
      (*job_)(t, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::workerLoop(int index) {
  inWorker = true;
  flushDenormalsOnThisThread();  // workers only run kernels (denormals.h)
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      // A region the caller has already finished (closed) is not joined: the caller does not wait for workers
      // that were not scheduled in time, only for those that took part.
      if (closed_) continue;
      ++active_;
    }
    drain(index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  if (inWorker || size_ == 1 || tasks == 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  std::lock_guard<std::mutex> caller(callers_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    active_ = 0;
    closed_ = false;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  inWorker = true;  // nested regions started by the caller's own tasks run inline
  drain(0);
  inWorker = false;
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Every task has been claimed; wait only for the workers that joined, and let late ones skip the region.
    closed_ = true;
    done_.wait(lock, [&] { return active_ == 0; });
    job_ = nullptr;
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn, int chunksPerThread,
                             int64_t minChunk) {
  if (n <= 0) return;
  int64_t chunks = std::max<int64_t>(1, static_cast<int64_t>(size_) * chunksPerThread);
  int64_t chunk = std::max<int64_t>(std::max<int64_t>(1, minChunk), (n + chunks - 1) / chunks);
  int64_t count = (n + chunk - 1) / chunk;
  run(count, [&](int64_t c, int thread) {
    int64_t begin = c * chunk;
    fn(begin, std::min(n, begin + chunk), thread);
  });
}

int64_t reduceRanges(int64_t n, int64_t len) {
  const int64_t byMemory = (int64_t{16} << 20) / std::max<int64_t>(1, len);  // 64 MB of float partials
  return std::max<int64_t>(1, std::min<int64_t>({int64_t{2} * pool().size(), 16, n, byMemory}));
}

ThreadPool& pool() {
  static ThreadPool instance(configuredThreads());
  return instance;
}

}  // namespace diffiqa
