#include "endpoint_wrap.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"

namespace ferry {

Napi::Function EndpointWrap::Init(Napi::Env env) {
  return DefineClass(env, "Endpoint",
                     {InstanceMethod("start", &EndpointWrap::Start),
                      InstanceMethod("stop", &EndpointWrap::Stop),
                      InstanceMethod("send", &EndpointWrap::Send),
                      InstanceMethod("sendRaw", &EndpointWrap::SendRaw),
                      InstanceMethod("close", &EndpointWrap::Close),
                      InstanceMethod("recvNow", &EndpointWrap::RecvNow),
                      InstanceAccessor("garbageBytes", &EndpointWrap::GarbageBytes, nullptr)});
}

// new Endpoint(fd): takes ownership of fd.
EndpointWrap::EndpointWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<EndpointWrap>(info) {
  Napi::Env env = info.Env();
  fd_ = info[0].As<Napi::Number>().Int32Value();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, FERRY_DESC_SIZE * FERRY_RX_BATCH);
  frames_ = static_cast<ferry_desc *>(ab.Data());
  rx_buffer_ = Napi::Persistent(ab);
  info.This().As<Napi::Object>().Set("rx", ab);
  info.This().As<Napi::Object>().Set("fd", fd_);
}

EndpointWrap::~EndpointWrap() {
  poller_.reset();
  if (fd_ >= 0) close(fd_);
}

// start(cb): cb(n) with n descriptors in `rx`, or cb(-1) when the peer closed.
Napi::Value EndpointWrap::Start(const Napi::CallbackInfo &info) {
  if (fd_ < 0) throw Napi::Error::New(info.Env(), "endpoint is closed");
  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  if (!poller_) poller_ = std::make_unique<Poller>(info.Env(), fd_, [this](Napi::Env env) { OnReadable(env); });
  poller_->Start();
  return info.Env().Undefined();
}

void EndpointWrap::OnReadable(Napi::Env env) {
  int n = ferry_endpoint_recv(fd_, &rx_, frames_);
  if (n == 0) return;
  if (n < 0) {
    if (n == -EAGAIN) return;
    poller_->Stop();
    n = -1;
  }
  callback_.MakeCallback(Value(), {Napi::Number::New(env, n)});
}

// recvNow() -> n descriptors now in `rx` (0: nothing queued), -1 when the
// other side closed: empties the socket of an instance that died, without
// blocking and without the poller.
Napi::Value EndpointWrap::RecvNow(const Napi::CallbackInfo &info) {
  if (fd_ < 0) throw Napi::Error::New(info.Env(), "endpoint is closed");
  int n = ferry_endpoint_recv_nowait(fd_, &rx_, frames_);
  if (n < 0) n = n == -EAGAIN ? 0 : -1;
  return Napi::Number::New(info.Env(), n);
}

Napi::Value EndpointWrap::Stop(const Napi::CallbackInfo &info) {
  if (poller_) poller_->Stop();
  return info.Env().Undefined();
}

// send(frame: Uint8Array of FERRY_DESC_SIZE bytes) -> 0 or -errno.
Napi::Value EndpointWrap::Send(const Napi::CallbackInfo &info) {
  Napi::Uint8Array frame = info[0].As<Napi::Uint8Array>();
  if (frame.ByteLength() != FERRY_DESC_SIZE)
    throw Napi::RangeError::New(info.Env(), "send: a descriptor frame is exactly 48 bytes");
  int rc = ferry_endpoint_send(fd_, reinterpret_cast<const ferry_desc *>(frame.Data()));
  return Napi::Number::New(info.Env(), rc);
}

// sendRaw(bytes): any bytes, for tests that forge or truncate frames.
Napi::Value EndpointWrap::SendRaw(const Napi::CallbackInfo &info) {
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  ssize_t n = send(fd_, bytes.Data(), bytes.ByteLength(), MSG_NOSIGNAL);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : static_cast<int>(n));
}

Napi::Value EndpointWrap::Close(const Napi::CallbackInfo &info) {
  poller_.reset();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

Napi::Value EndpointWrap::GarbageBytes(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(rx_.garbage_bytes));
}

}  // namespace ferry
