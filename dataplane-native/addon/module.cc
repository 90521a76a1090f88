// Module glue: registers the classes and exports the ABI layout so the
// TypeScript side reads descriptor fields at offsets taken from abi.h.
#include <napi.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>

#include "endpoint_wrap.h"
#include "errors.h"
#include "instance_wrap.h"
#include "pool_wrap.h"
#include "router_wrap.h"

extern "C" {
#include "ferry/abi.h"
#include "ferry/endpoint.h"
}

namespace ferry {

static Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", static_cast<uint32_t>(sizeof(ferry_desc)));
  o.Set("magic", FERRY_DESC_MAGIC);
  o.Set("version", FERRY_DESC_VERSION);
  o.Set("stageReply", FERRY_STAGE_REPLY);
  o.Set("flagError", FERRY_F_ERROR);
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
  return exports;
}

}  // namespace ferry

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ferry::Init(env, exports); }
NODE_API_MODULE(ferry_native, InitModule)
