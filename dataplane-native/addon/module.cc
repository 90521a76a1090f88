// Module glue: registers the classes and exports the ABI layout so the
// TypeScript side reads descriptor fields at offsets taken from abi.h.
#include <napi.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <cstddef>

#include "endpoint_wrap.h"
#include "errors.h"
#include "fl.h"
#include "instance_wrap.h"
#include "pool_wrap.h"
#include "router_wrap.h"

extern "C" {
#include "ferry/abi.h"
#include "ferry/endpoint.h"
#include "ferry/pool.h"
}

namespace ferry {

static Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<uint32_t>(sizeof(ferry_desc)));
  o.Set("magic", FERRY_DESC_MAGIC);
  o.Set("version", FERRY_DESC_VERSION);
  o.Set("stageReply", FERRY_STAGE_REPLY);
  o.Set("flagError", FERRY_F_ERROR);
  Napi::Object ctl = Napi::Object::New(env);
  ctl.Set("size", static_cast<uint32_t>(FERRY_CTL_MSG_SIZE));
  ctl.Set("ready", FERRY_CTL_READY);
  ctl.Set("ping", FERRY_CTL_PING);
  ctl.Set("pong", FERRY_CTL_PONG);
  ctl.Set("statsReq", FERRY_CTL_STATS_REQ);
  ctl.Set("stats", FERRY_CTL_STATS);
  ctl.Set("statsSize", static_cast<uint32_t>(sizeof(ferry_ctl_stats)));
  ctl.Set("histBuckets", FERRY_HIST_BUCKETS);
  o.Set("control", ctl);
  o.Set("flagResponse", FERRY_F_RESPONSE);
  o.Set("responseTagMax", FERRY_RESPONSE_TAG_MAX);
  o.Set("maxHops", FERRY_MAX_HOPS);
  o.Set("maxInstances", FERRY_MAX_INSTANCES);
  o.Set("maxReplicas", FERRY_MAX_REPLICAS);
  Napi::Object f = Napi::Object::New(env);
#define FIELD(js, c) f.Set(js, static_cast<uint32_t>(offsetof(ferry_desc, c)))
  FIELD("magic", magic);
  FIELD("version", version);
  FIELD("flags", flags);
  FIELD("chainId", chain_id);
  FIELD("stage", stage);
  FIELD("fromStage", from_stage);
  FIELD("requestId", request_id);
  FIELD("offset", offset);
  FIELD("length", length);
  FIELD("generation", generation);
  FIELD("hopCount", hop_count);
  FIELD("status", status);
  FIELD("replyTo", reply_to);
#undef FIELD
  o.Set("fields", f);
  Napi::Object st = Napi::Object::New(env);
  st.Set("ok", static_cast<uint32_t>(FERRY_ST_OK));
  st.Set("functionError", static_cast<uint32_t>(FERRY_ST_FUNCTION_ERROR));
  st.Set("badDescriptor", static_cast<uint32_t>(FERRY_ST_BAD_DESCRIPTOR));
  st.Set("poolExhausted", static_cast<uint32_t>(FERRY_ST_POOL_EXHAUSTED));
  st.Set("tooLarge", static_cast<uint32_t>(FERRY_ST_TOO_LARGE));
  st.Set("instanceDied", static_cast<uint32_t>(FERRY_ST_INSTANCE_DIED));
  st.Set("noRoute", static_cast<uint32_t>(FERRY_ST_NO_ROUTE));
  o.Set("status", st);
  o.Set("fl", FlLayout(env));
  return o;
}

// endpointPair() -> [instanceFd, peerFd]
static Napi::Value EndpointPair(const Napi::CallbackInfo &info) {
  int a, b;
  int rc = ferry_endpoint_pair(&a, &b);
  if (rc < 0) ThrowCode(info.Env(), rc, "create endpoint socket pair");
  Napi::Array arr = Napi::Array::New(info.Env(), 2);
  arr.Set(0u, a);
  arr.Set(1u, b);
  return arr;
}

// controlPair() -> [instanceFd, ferrydFd]: the unix stream socket pair of
// an instance's control channel (see struct ferry_ctl_msg in abi.h).
static Napi::Value ControlPair(const Napi::CallbackInfo &info) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    ThrowCode(info.Env(), -errno, "create control socket pair");
  Napi::Array arr = Napi::Array::New(info.Env(), 2);
  arr.Set(0u, sv[0]);
  arr.Set(1u, sv[1]);
  return arr;
}

// dupFd(fd) -> a close-on-exec duplicate.
static Napi::Value DupFd(const Napi::CallbackInfo &info) {
  int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowCode(info.Env(), -errno, "dup fd");
  return Napi::Number::New(info.Env(), fd);
}

// nowMs(): the clock pool deadlines are on (ferry_pool_now_ms).
static Napi::Value NowMs(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), ferry_pool_now_ms());
}

static Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Pool", PoolWrap::Init(env));
  exports.Set("Instance", InstanceWrap::Init(env));
  exports.Set("Endpoint", EndpointWrap::Init(env));
  exports.Set("Router", RouterWrap::Init(env));
  exports.Set("layout", Layout(env));
  exports.Set("endpointPair", Napi::Function::New(env, EndpointPair));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("controlPair", Napi::Function::New(env, ControlPair));
  exports.Set("dupFd", Napi::Function::New(env, DupFd));
  exports.Set("nowMs", Napi::Function::New(env, NowMs));
  FlInit(env, exports);
  return exports;
}

}  // namespace ferry

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ferry::Init(env, exports); }
NODE_API_MODULE(ferry_native, InitModule)
