// JS class Endpoint: one raw endpoint socket (ferryd's side, or a test's),
// reading descriptor frames with libuv polling and sending frames. The
// fallback relay is built on it.
#pragma once
#include <napi.h>

#include <memory>

#include "poller.h"

extern "C" {
#include "ferry/endpoint.h"
}

namespace ferry {

class EndpointWrap : public Napi::ObjectWrap<EndpointWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EndpointWrap(const Napi::CallbackInfo &info);
  ~EndpointWrap() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo &info);
  Napi::Value Stop(const Napi::CallbackInfo &info);
  Napi::Value Send(const Napi::CallbackInfo &info);
  Napi::Value SendRaw(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  Napi::Value RecvNow(const Napi::CallbackInfo &info);
  Napi::Value GarbageBytes(const Napi::CallbackInfo &info);
  void OnReadable(Napi::Env env);

  int fd_;
  ferry_rx rx_{};
  ferry_desc *frames_;  // backing store of the JS `rx` ArrayBuffer
  Napi::Reference<Napi::ArrayBuffer> rx_buffer_;
  Napi::FunctionReference callback_;
  std::unique_ptr<Poller> poller_;
};

}  // namespace ferry
