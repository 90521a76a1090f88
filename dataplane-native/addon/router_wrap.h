// JS class Router: the pinned eBPF SK_MSG router (include/ferry/bpf_loader.h).
#pragma once
#include <napi.h>

extern "C" {
#include "ferry/bpf_loader.h"
}

namespace ferry {

class RouterWrap : public Napi::ObjectWrap<RouterWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RouterWrap(const Napi::CallbackInfo &info);
  ~RouterWrap() override;

 private:
  ferry_router *Live(Napi::Env env);
  Napi::Value AddEndpoint(const Napi::CallbackInfo &info);
  Napi::Value RemoveEndpoint(const Napi::CallbackInfo &info);
  Napi::Value SetRoute(const Napi::CallbackInfo &info);
  Napi::Value DeleteRoute(const Napi::CallbackInfo &info);
  Napi::Value SetRing(const Napi::CallbackInfo &info);
  Napi::Value DeleteRing(const Napi::CallbackInfo &info);
  Napi::Value Allow(const Napi::CallbackInfo &info);
  Napi::Value Counters(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  static Napi::Value Unpin(const Napi::CallbackInfo &info);

  ferry_router r_{};
  bool open_ = false;
};

}  // namespace ferry
