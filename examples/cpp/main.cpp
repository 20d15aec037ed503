// The C++ binding of reseolio.hpp in use: a job enqueued, run by a worker thread, its result
// awaited; a bad call caught as reseolio::Error. Built and run by bindings/c/tests/c_programs.rs.
#include "reseolio.hpp"

#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  reseolio::Client client(argc > 1 ? argv[1] : "sqlite://reseolio-cpp-example.db");
  reseolio::Worker worker = client.worker({"greet"}, 2);
  std::thread loop([&worker] {
    while (auto task = worker.poll(-1)) task->succeed("hello, " + std::string(task->args()));
  });

  std::string id = client.enqueue("greet", "C++");
  reseolio::Job job = client.await_result(id, 30000);
  std::cout << "job " << job.id << ": " << job.result.value_or("(none)") << "\n";

  int code = job.status == RESEOLIO_JOB_SUCCESS && job.result == "hello, C++" ? 0 : 1;
  try {
    client.await_result("no-such-job", 0);
    code = 1;
  } catch (const reseolio::Error& e) {
    std::cout << "caught " << e.what() << "\n";
    if (e.code != RESEOLIO_NOT_FOUND) code = 1;
  }
  worker.shutdown(5000);  // the poll on the other thread returns nothing: the loop ends
  loop.join();
  return code;
}
