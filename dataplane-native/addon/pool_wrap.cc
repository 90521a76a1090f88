#include "pool_wrap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <v8.h>

#include "errors.h"

namespace ferry {

// Through V8 itself, not napi_create_external_arraybuffer: Node builds
// that on a Buffer, capped at buffer.constants.MAX_LENGTH (4 GiB on Node
// 20), and a job pool of model-sized buffers (ResNet-152: 240 MB each)
// passes that; there the napi call failed and its cleanup freed twice.
// V8's own limit is far above any pool. The deleter may run on any thread:
// it only unmaps and frees.
Napi::ArrayBuffer AdoptMapping(Napi::Env env, ferry_pool *p, Mapping **out) {
  auto *m = new Mapping{p->base, p->size};
  *out = m;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(
      p->base, p->size,
      [](void *, size_t, void *data) {
        auto *mapping = static_cast<Mapping *>(data);
        if (mapping->base) munmap(mapping->base, mapping->size);
        delete mapping;
      },
      m);
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, std::move(store));
  // A napi_value is the address of the V8 handle (node's own
  // v8impl::JsValueFromV8LocalValue); the handle scope is the caller's.
  return Napi::ArrayBuffer(env, reinterpret_cast<napi_value>(*ab));
}

void Unmap(Napi::ArrayBuffer ab, Mapping *m, ferry_pool *p) {
  // Unmap first, then detach: detaching may drop the last reference to the
  // backing store, whose deleter frees m. No JavaScript runs in between.
  if (m && m->base) {
    munmap(m->base, m->size);
    m->base = nullptr;
  }
  if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  p->base = nullptr;  // so ferry_pool_detach only closes the fd
  ferry_pool_detach(p);
}

Napi::Object PoolStatsObject(Napi::Env env, const ferry_pool *p) {
  struct ferry_pool_stats st;
  ferry_pool_stats(p, &st);
  Napi::Object o = Napi::Object::New(env);
  Napi::Array cls = Napi::Array::New(env, st.nclasses);
  uint32_t in_use = 0;
  for (uint32_t c = 0; c < st.nclasses; c++) {
    Napi::Object k = Napi::Object::New(env);
    k.Set("size", st.cls[c].buf_size);
    k.Set("count", st.cls[c].count);
    k.Set("inUse", st.cls[c].in_use);
    k.Set("maxCount", st.cls[c].max_count);
    k.Set("misses", static_cast<double>(st.cls[c].misses));
    in_use += st.cls[c].in_use;
    cls.Set(c, k);
  }
  o.Set("classes", cls);
  o.Set("inUse", in_use);
  o.Set("allocFailures", static_cast<double>(st.alloc_failures));
  o.Set("badFrees", static_cast<double>(st.bad_frees));
  o.Set("totalSize", static_cast<double>(st.total_size));
  return o;
}

Napi::Object AllocObject(Napi::Env env, ferry_pool *p, uint32_t size, uint32_t owner) {
  ferry_buf b;
  int rc = ferry_pool_alloc(p, size, owner, &b);
  if (rc < 0) ThrowCode(env, rc, "alloc " + std::to_string(size) + " bytes");
  Napi::Object o = Napi::Object::New(env);
  o.Set("offset", static_cast<double>(b.offset));
  o.Set("capacity", b.capacity);
  o.Set("generation", b.generation);
  return o;
}

Napi::Function PoolWrap::Init(Napi::Env env) {
  return DefineClass(env, "Pool",
                     {InstanceMethod("alloc", &PoolWrap::Alloc),
                      InstanceMethod("free", &PoolWrap::Free),
                      InstanceMethod("check", &PoolWrap::Check),
                      InstanceMethod("take", &PoolWrap::Take),
                      InstanceMethod("reclaim", &PoolWrap::Reclaim),
                      InstanceMethod("reclaimTagged", &PoolWrap::ReclaimTagged),
                      InstanceMethod("stats", &PoolWrap::Stats),
                      InstanceMethod("grow", &PoolWrap::Grow),
                      InstanceMethod("shrink", &PoolWrap::Shrink),
                      InstanceMethod("expire", &PoolWrap::Expire),
                      InstanceMethod("label", &PoolWrap::Label),
                      InstanceMethod("seal", &PoolWrap::Seal),
                      InstanceMethod("close", &PoolWrap::Close)});
}

// new Pool({name, classes: [{size, count, maxCount?}]})  creates a pool;
// new Pool({fd})                              maps one received from ferryd.
PoolWrap::PoolWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<PoolWrap>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Pool: expected {name, classes} or {fd}");
  Napi::Object opts = info[0].As<Napi::Object>();
  int rc;
  if (opts.Has("fd")) {
    rc = ferry_pool_attach(&pool_, opts.Get("fd").As<Napi::Number>().Int32Value());
    if (rc < 0) ThrowCode(env, rc, "attach pool");
  } else {
    std::string name = opts.Get("name").As<Napi::String>();
    Napi::Array arr = opts.Get("classes").As<Napi::Array>();
    std::vector<ferry_pool_class_spec> cls(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object c = arr.Get(i).As<Napi::Object>();
      cls[i].buf_size = c.Get("size").As<Napi::Number>().Uint32Value();
      cls[i].count = c.Get("count").As<Napi::Number>().Uint32Value();
      cls[i].max_count = c.Has("maxCount") ? c.Get("maxCount").As<Napi::Number>().Uint32Value() : 0;
    }
    rc = ferry_pool_create(&pool_, name.c_str(), cls.data(), static_cast<uint32_t>(cls.size()));
    if (rc < 0)
      ThrowCode(env, rc,
                "create pool (classes must be ascending multiples of 64 bytes with count <= maxCount, 1 to " +
                    std::to_string(FERRY_POOL_MAX_CLASSES) + " of them)");
  }
  open_ = true;
  Napi::ArrayBuffer ab = AdoptMapping(env, &pool_, &mapping_);
  buffer_ = Napi::Persistent(ab);
  info.This().As<Napi::Object>().Set("buffer", ab);
  info.This().As<Napi::Object>().Set("fd", pool_.fd);
  info.This().As<Napi::Object>().Set("size", static_cast<double>(pool_.size));
}

PoolWrap::~PoolWrap() {
  // The ArrayBuffer keeps the mapping; only the fd is ours to close.
  if (open_) {
    pool_.base = nullptr;
    ferry_pool_detach(&pool_);
  }
}

ferry_pool *PoolWrap::Live(Napi::Env env) {
  if (!open_) throw Napi::Error::New(env, "pool is closed");
  return &pool_;
}

static uint64_t U64(const Napi::Value &v) { return static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()); }

Napi::Value PoolWrap::Alloc(const Napi::CallbackInfo &info) {
  return AllocObject(info.Env(), Live(info.Env()), info[0].As<Napi::Number>().Uint32Value(),
                     info[1].As<Napi::Number>().Uint32Value());
}

Napi::Value PoolWrap::Free(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_free(Live(info.Env()), U64(info[0]), info[1].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "free");
  return info.Env().Undefined();
}

// check(offset, generation, length) -> capacity, or throws the reason.
Napi::Value PoolWrap::Check(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_check(Live(info.Env()), U64(info[0]), info[1].As<Napi::Number>().Uint32Value(),
                            info[2].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "check");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value PoolWrap::Take(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_take(Live(info.Env()), U64(info[0]), info[1].As<Napi::Number>().Uint32Value(),
                           info[2].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "take");
  return info.Env().Undefined();
}

Napi::Value PoolWrap::Reclaim(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_reclaim(Live(info.Env()), info[0].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "reclaim");
  return Napi::Number::New(info.Env(), rc);
}

// reclaimTagged(owner) -> {count, tags: number[]} (request tags of what was freed)
Napi::Value PoolWrap::ReclaimTagged(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t tags[1024];
  int ntags = 0;
  int rc = ferry_pool_reclaim_tagged(Live(env), info[0].As<Napi::Number>().Uint32Value(), tags, 1024, &ntags);
  if (rc < 0) ThrowCode(env, rc, "reclaim");
  Napi::Object o = Napi::Object::New(env);
  Napi::Array arr = Napi::Array::New(env, ntags);
  for (int i = 0; i < ntags; i++) arr.Set(static_cast<uint32_t>(i), tags[i]);
  o.Set("count", rc);
  o.Set("tags", arr);
  return o;
}

// grow(cls, n) / shrink(cls, n) -> how many slots went in / out of service.
Napi::Value PoolWrap::Grow(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_grow(Live(info.Env()), info[0].As<Napi::Number>().Uint32Value(),
                           info[1].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "grow");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value PoolWrap::Shrink(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_shrink(Live(info.Env()), info[0].As<Napi::Number>().Uint32Value(),
                             info[1].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "shrink");
  return Napi::Number::New(info.Env(), rc);
}

// expire(nowMs) -> {count, expired: [{owner, tag}]} (the first 1024 reported)
Napi::Value PoolWrap::Expire(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  static const int kMax = 1024;
  std::vector<ferry_pool_expired> out(kMax);
  int n = ferry_pool_expire(Live(env), info[0].As<Napi::Number>().Uint32Value(), out.data(), kMax);
  Napi::Object o = Napi::Object::New(env);
  uint32_t shown = static_cast<uint32_t>(n < kMax ? n : kMax);
  Napi::Array arr = Napi::Array::New(env, shown);
  for (uint32_t i = 0; i < shown; i++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("owner", out[i].owner);
    e.Set("tag", out[i].tag);
    arr.Set(i, e);
  }
  o.Set("count", n);
  o.Set("expired", arr);
  return o;
}

// label(offset, generation, tag, deadlineMs)
Napi::Value PoolWrap::Label(const Napi::CallbackInfo &info) {
  int rc = ferry_pool_label(Live(info.Env()), U64(info[0]), info[1].As<Napi::Number>().Uint32Value(),
                            info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "label");
  return info.Env().Undefined();
}

// seal(offset, generation, on): seal (true) or unseal (false) a live
// buffer; returns whether it is sealed now.
Napi::Value PoolWrap::Seal(const Napi::CallbackInfo &info) {
  ferry_pool *p = Live(info.Env());
  uint64_t off = U64(info[0]);
  uint32_t gen = info[1].As<Napi::Number>().Uint32Value();
  bool on = info[2].ToBoolean();
  int rc = on ? ferry_pool_seal(p, off, gen) : ferry_pool_unseal(p, off, gen);
  if (rc < 0) ThrowCode(info.Env(), rc, on ? "seal" : "unseal");
  return Napi::Boolean::New(info.Env(), on);
}

Napi::Value PoolWrap::Stats(const Napi::CallbackInfo &info) {
  return PoolStatsObject(info.Env(), Live(info.Env()));
}

Napi::Value PoolWrap::Close(const Napi::CallbackInfo &info) {
  if (open_) {
    Unmap(buffer_.Value(), mapping_, &pool_);
    open_ = false;
  }
  return info.Env().Undefined();
}

}  // namespace ferry
