#include "instance_wrap.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <string>

#include "errors.h"
#include "pool_wrap.h"

namespace ferry {

Napi::Function InstanceWrap::Init(Napi::Env env) {
  return DefineClass(env, "Instance",
                     {InstanceMethod("start", &InstanceWrap::Start),
                      InstanceMethod("stop", &InstanceWrap::Stop),
                      InstanceMethod("forward", &InstanceWrap::Forward),
                      InstanceMethod("forwardBuffer", &InstanceWrap::ForwardBuffer),
                      InstanceMethod("fail", &InstanceWrap::Fail),
                      InstanceMethod("alloc", &InstanceWrap::Alloc),
                      InstanceMethod("capacity", &InstanceWrap::Capacity),
                      InstanceMethod("free", &InstanceWrap::Free),
                      InstanceMethod("freeIfOwned", &InstanceWrap::FreeIfOwned),
                      InstanceMethod("send", &InstanceWrap::Send),
                      InstanceMethod("sendRaw", &InstanceWrap::SendRaw),
                      InstanceMethod("stats", &InstanceWrap::Stats),
                      InstanceMethod("label", &InstanceWrap::Label),
                      InstanceMethod("ready", &InstanceWrap::Ready),
                      InstanceMethod("recordService", &InstanceWrap::RecordService),
                      InstanceMethod("close", &InstanceWrap::Close)});
}

// new Instance(): reads the FERRY_* environment ferryd set at spawn.
// new Instance({instanceId, chainId, stage, stageName, endpointFd, poolFd, next}):
// an in-process endpoint (a gateway); takes ownership of endpointFd.
InstanceWrap::InstanceWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<InstanceWrap>(info) {
  Napi::Env env = info.Env();
  char err[256];
  int rc;
  if (info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    auto u32 = [&](const char *k) { return o.Get(k).As<Napi::Number>().Uint32Value(); };
    std::string name = o.Has("stageName") ? o.Get("stageName").As<Napi::String>().Utf8Value() : "";
    std::string next = o.Has("next") ? o.Get("next").As<Napi::String>().Utf8Value() : "";
    rc = ferry_instance_open(&in_, u32("instanceId"), u32("chainId"), static_cast<uint16_t>(u32("stage")),
                             name.c_str(), static_cast<int>(u32("endpointFd")), static_cast<int>(u32("poolFd")),
                             next.c_str(), err, sizeof(err));
  } else {
    rc = ferry_instance_from_env(&in_, err, sizeof(err));
  }
  if (rc < 0) throw Napi::Error::New(env, err);
  open_ = true;
  Napi::Object self = info.This().As<Napi::Object>();
  Napi::ArrayBuffer pool = AdoptMapping(env, &in_.pool, &mapping_);
  pool_buffer_ = Napi::Persistent(pool);
  Napi::ArrayBuffer rx = Napi::ArrayBuffer::New(env, FERRY_DESC_SIZE * FERRY_RX_BATCH);
  frames_ = static_cast<ferry_desc *>(rx.Data());
  rx_buffer_ = Napi::Persistent(rx);
  self.Set("buffer", pool);
  self.Set("rx", rx);
  self.Set("id", in_.id);
  self.Set("chainId", in_.chain_id);
  self.Set("stage", in_.stage);
  self.Set("stageName", in_.stage_name);
  Napi::Array next = Napi::Array::New(env, in_.nnext);
  for (uint32_t i = 0; i < in_.nnext; i++) next.Set(i, in_.next[i].name);
  self.Set("next", next);
}

InstanceWrap::~InstanceWrap() {
  poller_.reset();
  ctl_poller_.reset();
  if (open_) {
    in_.pool.base = nullptr;  // the ArrayBuffer owns the mapping
    ferry_instance_close(&in_);
  }
}

// start(cb): cb(n) with n accepted descriptors in `rx` (rejects are counted,
// disposed of and never reach JS), or cb(-1) when ferryd closed the endpoint.
Napi::Value InstanceWrap::Start(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  if (!poller_) poller_ = std::make_unique<Poller>(info.Env(), in_.fd, [this](Napi::Env env) { OnReadable(env); });
  poller_->Start();
  // Pings are answered here, on the JS thread: an instance whose event
  // loop is stuck in a handler does not answer, which is the point.
  if (in_.ctl_fd >= 0 && !ctl_poller_) {
    ctl_poller_ = std::make_unique<Poller>(info.Env(), in_.ctl_fd, [this](Napi::Env) {
      if (ferry_control_serve(in_.ctl_fd, &in_.ctl_rx, &in_.service) == -ECONNRESET) ctl_poller_->Stop();
    });
    ctl_poller_->Start();
  }
  return info.Env().Undefined();
}

// recordService(us): one request finished after us microseconds (reported
// to ferryd when it asks, see ferry_control_serve).
Napi::Value InstanceWrap::RecordService(const Napi::CallbackInfo &info) {
  double us = info[0].As<Napi::Number>().DoubleValue();
  ferry_control_record(&in_.service, us > 0 ? static_cast<uint64_t>(us) : 0);
  return info.Env().Undefined();
}

// ready(): tell ferryd the function is loaded (no-op without a control channel).
Napi::Value InstanceWrap::Ready(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  int rc = ferry_instance_ready(&in_);
  if (rc < 0) ThrowCode(info.Env(), rc, "ready");
  return info.Env().Undefined();
}

void InstanceWrap::OnReadable(Napi::Env env) {
  ferry_desc batch[FERRY_RX_BATCH];
  int n = ferry_endpoint_recv(in_.fd, &in_.rx, batch);
  if (n < 0 && n != -EAGAIN) {
    poller_->Stop();
    callback_.MakeCallback(Value(), {Napi::Number::New(env, -1)});
    return;
  }
  int accepted = 0;
  for (int i = 0; i < n; i++)
    if (ferry_instance_accept(&in_, &batch[i]) == 0) frames_[accepted++] = batch[i];
  if (accepted > 0) callback_.MakeCallback(Value(), {Napi::Number::New(env, accepted)});
}

// Descriptors go back and forth as 48-byte frames: a view into `rx` while the
// handler is synchronous, a copy the SDK keeps while it awaits.
ferry_desc InstanceWrap::Frame(const Napi::CallbackInfo &info, size_t arg) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  if (!info[arg].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a descriptor frame");
  Napi::Uint8Array frame = info[arg].As<Napi::Uint8Array>();
  if (frame.ByteLength() != FERRY_DESC_SIZE)
    throw Napi::RangeError::New(info.Env(), "a descriptor frame is exactly 48 bytes");
  ferry_desc d;
  memcpy(&d, frame.Data(), sizeof(d));
  return d;
}

static int NextIndex(const Napi::Value &v) { return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0; }

// forward(frame, length, nextIndex): pass the (edited) input buffer on.
Napi::Value InstanceWrap::Forward(const Napi::CallbackInfo &info) {
  ferry_desc d = Frame(info);
  uint32_t len = info[1].As<Napi::Number>().Uint32Value();
  int cap = ferry_pool_check(&in_.pool, d.offset, d.generation, 0);
  if (cap < 0) ThrowCode(info.Env(), cap, "forward");
  if (len > static_cast<uint32_t>(cap))
    return Napi::Number::New(info.Env(), ferry_instance_fail(&in_, &d, FERRY_ST_FUNCTION_ERROR,
                                                             "output longer than the input buffer"));
  d.length = len;
  return Napi::Number::New(info.Env(), ferry_instance_forward(&in_, &d, NextIndex(info[2])));
}

// forwardBuffer(frame, offset, generation, length, nextIndex): the output is
// a buffer from alloc(); the input buffer is freed.
Napi::Value InstanceWrap::ForwardBuffer(const Napi::CallbackInfo &info) {
  ferry_desc d = Frame(info);
  uint64_t off = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  uint32_t gen = info[2].As<Napi::Number>().Uint32Value();
  uint32_t len = info[3].As<Napi::Number>().Uint32Value();
  int rc = ferry_pool_check(&in_.pool, off, gen, len);
  if (rc < 0) ThrowCode(info.Env(), rc, "forwardBuffer");
  // The request's own buffer is gone: it outlived its deadline and ferryd
  // took it back. Nobody waits for the answer any more.
  rc = ferry_pool_check(&in_.pool, d.offset, d.generation, 0);
  if (rc < 0) {
    ferry_pool_free(&in_.pool, off, gen);
    ThrowCode(info.Env(), rc, "forwardBuffer (the request's input)");
  }
  // The output lives as long as the request: it inherits the input's label.
  if (ferry_pool_inherit(&in_.pool, off, gen, d.offset, d.generation) < 0)
    ferry_pool_tag(&in_.pool, off, gen, static_cast<uint32_t>(d.request_id));
  ferry_pool_free(&in_.pool, d.offset, d.generation);
  d.offset = off;
  d.generation = gen;
  d.length = len;
  return Napi::Number::New(info.Env(), ferry_instance_forward(&in_, &d, NextIndex(info[4])));
}

// fail(frame, status, message)
Napi::Value InstanceWrap::Fail(const Napi::CallbackInfo &info) {
  ferry_desc d = Frame(info);
  uint16_t status = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  std::string msg = info[2].As<Napi::String>();
  return Napi::Number::New(info.Env(), ferry_instance_fail(&in_, &d, status, msg.c_str()));
}

// alloc(size, frame?) -> {offset, capacity, generation}; with the frame of
// the request it is for, the buffer inherits that request's tag and deadline.
Napi::Value InstanceWrap::Alloc(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  Napi::Object o = AllocObject(info.Env(), &in_.pool, info[0].As<Napi::Number>().Uint32Value(), in_.id);
  if (info.Length() > 1 && info[1].IsTypedArray()) {
    ferry_desc d = Frame(info, 1);
    ferry_pool_inherit(&in_.pool, static_cast<uint64_t>(o.Get("offset").As<Napi::Number>().DoubleValue()),
                       o.Get("generation").As<Napi::Number>().Uint32Value(), d.offset, d.generation);
  }
  return o;
}

// label(offset, generation, tag, deadlineMs)
Napi::Value InstanceWrap::Label(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  int rc = ferry_pool_label(&in_.pool, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                            info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value(),
                            info[3].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "label");
  return info.Env().Undefined();
}

// capacity(offset, generation) -> bytes the live buffer can hold.
Napi::Value InstanceWrap::Capacity(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  int rc = ferry_pool_check(&in_.pool, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                            info[1].As<Napi::Number>().Uint32Value(), 0);
  if (rc < 0) ThrowCode(info.Env(), rc, "capacity");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value InstanceWrap::Free(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  int rc = ferry_pool_free(&in_.pool, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                           info[1].As<Napi::Number>().Uint32Value());
  if (rc < 0) ThrowCode(info.Env(), rc, "free");
  return info.Env().Undefined();
}

// freeIfOwned(offset, generation) -> true when this instance still held the
// buffer and freed it; false when a receiver took it (or it is gone).
Napi::Value InstanceWrap::FreeIfOwned(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  int rc = ferry_pool_free_owned(&in_.pool, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                                 info[1].As<Napi::Number>().Uint32Value(), in_.id);
  return Napi::Boolean::New(info.Env(), rc == 0);
}

// send({stage, offset, generation, length, requestId, replyTo}) -> 0 / -errno:
// start a new request from this instance (pingers, gateways).
Napi::Value InstanceWrap::Send(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  Napi::Object o = info[0].As<Napi::Object>();
  ferry_buf buf{};
  buf.offset = static_cast<uint64_t>(o.Get("offset").As<Napi::Number>().DoubleValue());
  buf.generation = o.Get("generation").As<Napi::Number>().Uint32Value();
  ferry_desc d;
  ferry_desc_init(&d, in_.chain_id, static_cast<uint16_t>(o.Get("stage").As<Napi::Number>().Uint32Value()),
                  static_cast<uint64_t>(o.Get("requestId").As<Napi::Number>().DoubleValue()), &buf,
                  o.Get("length").As<Napi::Number>().Uint32Value(),
                  o.Has("replyTo") ? o.Get("replyTo").As<Napi::Number>().Uint32Value() : in_.id);
  // Label the buffer with its request so a crash can name what it
  // interrupted, and with its deadline (deadlineMs) so it cannot outlive it.
  uint32_t deadline = o.Has("deadlineMs") ? o.Get("deadlineMs").As<Napi::Number>().Uint32Value() : 0;
  ferry_pool_label(&in_.pool, d.offset, d.generation, static_cast<uint32_t>(d.request_id), deadline);
  return Napi::Number::New(info.Env(), ferry_endpoint_send(in_.fd, &d));
}

// sendRaw(bytes) -> bytes sent or -errno: arbitrary bytes on this endpoint,
// for tests and tools that check how forged frames are handled.
Napi::Value InstanceWrap::SendRaw(const Napi::CallbackInfo &info) {
  if (!open_) throw Napi::Error::New(info.Env(), "instance is closed");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  ssize_t n = send(in_.fd, bytes.Data(), bytes.ByteLength(), MSG_NOSIGNAL);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : static_cast<int>(n));
}

Napi::Value InstanceWrap::Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const ferry_instance_stats &s = in_.stats;
  o.Set("accepted", static_cast<double>(s.accepted));
  o.Set("forwarded", static_cast<double>(s.forwarded));
  o.Set("repliedError", static_cast<double>(s.replied_error));
  o.Set("sendRefused", static_cast<double>(s.send_refused));
  o.Set("freedUndeliverable", static_cast<double>(s.freed_undeliverable));
  o.Set("garbageBytes", static_cast<double>(in_.rx.garbage_bytes));
  Napi::Object rej = Napi::Object::New(env);
  for (int r = 0; r < FERRY_REJECT_MAX; r++)
    rej.Set(ferry_reject_name(static_cast<ferry_reject>(r)), static_cast<double>(s.rejects.by_reason[r]));
  o.Set("rejects", rej);
  if (open_) o.Set("pool", PoolStatsObject(env, &in_.pool));
  return o;
}

Napi::Value InstanceWrap::Stop(const Napi::CallbackInfo &info) {
  if (poller_) poller_->Stop();
  return info.Env().Undefined();
}

Napi::Value InstanceWrap::Close(const Napi::CallbackInfo &info) {
  poller_.reset();
  ctl_poller_.reset();
  if (open_) {
    Unmap(pool_buffer_.Value(), mapping_, &in_.pool);
    ferry_instance_close(&in_);
    open_ = false;
  }
  return info.Env().Undefined();
}

}  // namespace ferry
