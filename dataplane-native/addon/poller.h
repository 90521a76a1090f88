// Waits for a socket to become readable on the libuv loop (uv_poll), so a
// JS process handling descriptors sleeps in epoll like everything else: no
// busy loop and no thread-pool slot held while idle.
#pragma once
#include <napi.h>
#include <uv.h>

#include <functional>

namespace ferry {

class Poller {
 public:
  // on_readable runs on the JS thread inside a HandleScope.
  Poller(Napi::Env env, int fd, std::function<void(Napi::Env)> on_readable);
  ~Poller();
  void Start();
  void Stop();

 private:
  static void OnPoll(uv_poll_t *h, int status, int events);
  Napi::Env env_;
  uv_poll_t *handle_;  // freed in the close callback (uv_close is async)
  std::function<void(Napi::Env)> on_readable_;
  bool active_ = false;
};

}  // namespace ferry
