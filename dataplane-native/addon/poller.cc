#include "poller.h"

namespace ferry {

Poller::Poller(Napi::Env env, int fd, std::function<void(Napi::Env)> on_readable)
    : env_(env), handle_(new uv_poll_t), on_readable_(std::move(on_readable)) {
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, handle_, fd);
  handle_->data = this;
}

Poller::~Poller() {
  Stop();
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(handle_),
           [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
}

void Poller::Start() {
  if (active_) return;
  uv_poll_start(handle_, UV_READABLE | UV_DISCONNECT, &Poller::OnPoll);
  active_ = true;
}

void Poller::Stop() {
  if (!active_) return;
  uv_poll_stop(handle_);
  active_ = false;
}

void Poller::OnPoll(uv_poll_t *h, int status, int events) {
  auto *self = static_cast<Poller *>(h->data);
  if (!self) return;
  Napi::HandleScope scope(self->env_);
  // No JS frame to throw into from a libuv callback: an exception from the
  // handler becomes an uncaughtException, as in any event-emitter callback.
  try {
    self->on_readable_(self->env_);
  } catch (const Napi::Error &e) {
    napi_fatal_exception(self->env_, e.Value());
  }
}

}  // namespace ferry
