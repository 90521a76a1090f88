// JS class Pool: a chain's shared-memory pool (see include/ferry/pool.h).
#pragma once
#include <napi.h>

#include "mapping.h"

namespace ferry {

class PoolWrap : public Napi::ObjectWrap<PoolWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit PoolWrap(const Napi::CallbackInfo &info);
  ~PoolWrap() override;

 private:
  ferry_pool *Live(Napi::Env env);
  Napi::Value Alloc(const Napi::CallbackInfo &info);
  Napi::Value Free(const Napi::CallbackInfo &info);
  Napi::Value Check(const Napi::CallbackInfo &info);
  Napi::Value Take(const Napi::CallbackInfo &info);
  Napi::Value Reclaim(const Napi::CallbackInfo &info);
  Napi::Value ReclaimTagged(const Napi::CallbackInfo &info);
  Napi::Value Stats(const Napi::CallbackInfo &info);
  Napi::Value Grow(const Napi::CallbackInfo &info);
  Napi::Value Shrink(const Napi::CallbackInfo &info);
  Napi::Value Expire(const Napi::CallbackInfo &info);
  Napi::Value Label(const Napi::CallbackInfo &info);
  Napi::Value Seal(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);

  ferry_pool pool_{};
  bool open_ = false;
  Mapping *mapping_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

// Shared by Pool and Instance: {classes: [{size, count, inUse}], ...}.
Napi::Object PoolStatsObject(Napi::Env env, const ferry_pool *p);
// Returns {offset, capacity, generation} or throws EPOOL_EXHAUSTED / ETOO_LARGE.
Napi::Object AllocObject(Napi::Env env, ferry_pool *p, uint32_t size, uint32_t owner);

}  // namespace ferry
