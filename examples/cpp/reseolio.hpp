// A C++17 binding of Reseolio written on top of the C ABI (bindings/c/include/reseolio.h), as an
// example of how a language binding is built: each handle gets one owner that frees it, each
// error becomes the language's own error, and blocking calls stay blocking.
#pragma once

#include "reseolio.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reseolio {

// A failed call: the status code to branch on and the library's message.
class Error : public std::runtime_error {
 public:
  Error(reseolio_status code, const std::string& message) : std::runtime_error(message), code(code) {}
  reseolio_status code;
};

// Turns a status and its error object into an exception, freeing the error. Call it after the
// call, not around it: `check(reseolio_get(..., &err), err)` may read `err` before the call
// writes it, as C and C++ leave the order of a call's arguments open.
inline void check(reseolio_status status, reseolio_error* err) {
  if (status == RESEOLIO_OK) return;
  std::string message = reseolio_error_message(err);
  reseolio_error_free(err);
  throw Error(status, std::string(reseolio_status_name(status)) + ": " + message);
}

// A job as stored, copied out of the C struct so that the struct is freed at once.
struct Job {
  std::string id, name;
  reseolio_job_status status;
  std::optional<std::string> result, last_error;
  uint32_t attempt;

  static Job take(reseolio_job* job) {
    Job j{job->id, job->name, job->status, std::nullopt, std::nullopt, job->attempt};
    if (job->result) j.result.emplace(reinterpret_cast<const char*>(job->result), job->result_len);
    if (job->last_error) j.last_error.emplace(job->last_error);
    reseolio_job_free(job);
    return j;
  }
};

// A claimed job. Owns its task handle: the destructor frees it (complete it first).
class Task {
 public:
  Task(reseolio_worker worker, reseolio_task task, const reseolio_claimed_job& job)
      : worker_(worker), task_(task), job_(job) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  Task(Task&& other) noexcept : worker_(other.worker_), task_(std::exchange(other.task_, {})), job_(other.job_) {}
  ~Task() {
    if (task_.id) reseolio_task_free(task_, nullptr);
  }

  std::string_view name() const { return job_.name; }
  std::string_view args() const { return {reinterpret_cast<const char*>(job_.args), job_.args_len}; }
  uint32_t attempt() const { return job_.attempt; }

  void succeed(std::string_view result) {
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_worker_complete_success(worker_, task_, reinterpret_cast<const uint8_t*>(result.data()),
                                           result.size(), nullptr, &err);
    check(status, err);
  }
  void fail(const std::string& message, bool retryable) {
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_worker_complete_failure(worker_, task_, message.c_str(), retryable, nullptr, &err);
    check(status, err);
  }

 private:
  reseolio_worker worker_;
  reseolio_task task_;
  reseolio_claimed_job job_;  // its pointers are owned by task_
};

// A worker. Owns its handle: the destructor shuts it down and frees it.
class Worker {
 public:
  explicit Worker(reseolio_worker w) : w_(w) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { reseolio_worker_free(w_, nullptr); }

  // The next job, or nothing when `timeout_ms` passed first or the worker was shut down.
  std::optional<Task> poll(int64_t timeout_ms) {
    reseolio_task task{};
    reseolio_claimed_job job;
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_worker_poll(w_, timeout_ms, &task, &job, &err);
    if (status == RESEOLIO_TIMEOUT || status == RESEOLIO_SHUT_DOWN) {
      reseolio_error_free(err);
      return std::nullopt;
    }
    check(status, err);
    return Task(w_, task, job);
  }
  void shutdown(uint64_t grace_ms) {
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_worker_shutdown(w_, grace_ms, &err);
    check(status, err);
  }

 private:
  reseolio_worker w_;
};

// A client. Owns its handle: the destructor closes it.
class Client {
 public:
  explicit Client(const std::string& url) {
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_connect(url.c_str(), nullptr, &c_, &err);
    check(status, err);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { reseolio_client_free(c_, nullptr); }

  std::string enqueue(const std::string& name, std::string_view args,
                      reseolio_enqueue_options options = reseolio_enqueue_options_default()) {
    reseolio_enqueued out;
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_enqueue(c_, name.c_str(), reinterpret_cast<const uint8_t*>(args.data()), args.size(), &options,
                           &out, &err);
    check(status, err);
    return out.job_id;
  }
  Job await_result(const std::string& id, int64_t timeout_ms) {
    reseolio_job* job = nullptr;
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_await_result(c_, id.c_str(), timeout_ms, &job, &err);
    check(status, err);
    return Job::take(job);
  }
  Worker worker(const std::vector<std::string>& names, uint32_t concurrency) {
    std::vector<const char*> ptrs;
    for (const auto& n : names) ptrs.push_back(n.c_str());
    reseolio_worker w;
    reseolio_error* err = nullptr;
    reseolio_status status = reseolio_worker_start(c_, ptrs.data(), ptrs.size(), concurrency, &w, &err);
    check(status, err);
    return Worker(w);
  }

 private:
  reseolio_client c_{};
};

}  // namespace reseolio
