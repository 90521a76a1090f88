// JS class Instance: the current process as a function instance (what the
// node runtime SDK builds on). Protocol work (validate, take ownership,
// forward, fail) is instance.c, shared with the native runner.
#pragma once
#include <napi.h>

#include <memory>

#include "mapping.h"
#include "poller.h"

extern "C" {
#include "ferry/instance.h"
}

namespace ferry {

class InstanceWrap : public Napi::ObjectWrap<InstanceWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit InstanceWrap(const Napi::CallbackInfo &info);
  ~InstanceWrap() override;

 private:
  ferry_desc Frame(const Napi::CallbackInfo &info, size_t arg = 0);
  void OnReadable(Napi::Env env);
  Napi::Value Start(const Napi::CallbackInfo &info);
  Napi::Value Stop(const Napi::CallbackInfo &info);
  Napi::Value Forward(const Napi::CallbackInfo &info);
  Napi::Value ForwardBuffer(const Napi::CallbackInfo &info);
  Napi::Value Fail(const Napi::CallbackInfo &info);
  Napi::Value Alloc(const Napi::CallbackInfo &info);
  Napi::Value Capacity(const Napi::CallbackInfo &info);
  Napi::Value Free(const Napi::CallbackInfo &info);
  Napi::Value FreeIfOwned(const Napi::CallbackInfo &info);
  Napi::Value Send(const Napi::CallbackInfo &info);
  Napi::Value SendRaw(const Napi::CallbackInfo &info);
  Napi::Value Stats(const Napi::CallbackInfo &info);
  Napi::Value Label(const Napi::CallbackInfo &info);
  Napi::Value Ready(const Napi::CallbackInfo &info);
  Napi::Value RecordService(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);

  ferry_instance in_{};
  bool open_ = false;
  ferry_desc *frames_;  // accepted descriptors; backing store of JS `rx`
  Mapping *mapping_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> pool_buffer_;
  Napi::Reference<Napi::ArrayBuffer> rx_buffer_;
  Napi::FunctionReference callback_;
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<Poller> ctl_poller_;  // control channel: answers liveness pings
};

}  // namespace ferry
