#include "router_wrap.h"

#include <string>
#include <vector>

#include "errors.h"

namespace ferry {

static const char *const kDropNames[FERRY_DROP_MAX] = {
    "malformed", "unknownSender", "chainMismatch", "notAllowed", "noRoute", "deadPeer", "hopLimit"};

Napi::Function RouterWrap::Init(Napi::Env env) {
  return DefineClass(env, "Router",
                     {InstanceMethod("addEndpoint", &RouterWrap::AddEndpoint),
                      InstanceMethod("removeEndpoint", &RouterWrap::RemoveEndpoint),
                      InstanceMethod("setRoute", &RouterWrap::SetRoute),
                      InstanceMethod("deleteRoute", &RouterWrap::DeleteRoute),
                      InstanceMethod("setRing", &RouterWrap::SetRing),
                      InstanceMethod("deleteRing", &RouterWrap::DeleteRing),
                      InstanceMethod("allow", &RouterWrap::Allow),
                      InstanceMethod("counters", &RouterWrap::Counters),
                      InstanceMethod("close", &RouterWrap::Close),
                      StaticMethod("unpin", &RouterWrap::Unpin),
                      // abi.h's request key layout and ring size, for the
                      // TypeScript pick (control/node/router/pick.ts).
                      StaticValue("keyShift", Napi::Number::New(env, FERRY_KEY_SHIFT)),
                      StaticValue("keyBits", Napi::Number::New(env, FERRY_KEY_BITS)),
                      StaticValue("ringMax", Napi::Number::New(env, FERRY_RING_MAX))});
}

// new Router({object, pinDir, forceReload}): opens the pinned router or loads it.
RouterWrap::RouterWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RouterWrap>(info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  std::string obj = o.Get("object").As<Napi::String>();
  std::string dir = o.Get("pinDir").As<Napi::String>();
  bool force = o.Has("forceReload") && o.Get("forceReload").ToBoolean();
  char err[512] = "";
  int rc = ferry_router_open(&r_, obj.c_str(), dir.c_str(), force ? 1 : 0, err, sizeof(err));
  if (rc < 0) {
    Napi::Error e = Napi::Error::New(env, std::string("eBPF router unavailable: ") + err);
    e.Set("code", Napi::String::New(env, "EBPF_UNAVAILABLE"));
    e.Set("errno", Napi::Number::New(env, rc));
    throw e;
  }
  open_ = true;
  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("attach", r_.attach == FERRY_ATTACH_LINK ? "link" : "prog_attach");
  self.Set("reused", Napi::Boolean::New(env, r_.reused != 0));
  self.Set("pinDir", dir);
}

RouterWrap::~RouterWrap() {
  if (open_) ferry_router_close(&r_);
}

ferry_router *RouterWrap::Live(Napi::Env env) {
  if (!open_) throw Napi::Error::New(env, "router handle is closed");
  return &r_;
}

static uint32_t U32(const Napi::Value &v) { return v.As<Napi::Number>().Uint32Value(); }

static void Check(Napi::Env env, int rc, const std::string &what) {
  if (rc < 0) ThrowCode(env, rc, what);
}

// addEndpoint(fd, {instanceId, chainId, stage, role: 'instance'|'gateway'})
Napi::Value RouterWrap::AddEndpoint(const Napi::CallbackInfo &info) {
  Napi::Object o = info[1].As<Napi::Object>();
  ferry_ident id{};
  id.instance_id = U32(o.Get("instanceId"));
  id.chain_id = U32(o.Get("chainId"));
  id.stage = static_cast<uint16_t>(U32(o.Get("stage")));
  std::string role = o.Has("role") ? o.Get("role").As<Napi::String>().Utf8Value() : "instance";
  id.role = role == "gateway" ? FERRY_ROLE_GATEWAY : FERRY_ROLE_INSTANCE;
  Check(info.Env(), ferry_router_add_endpoint(Live(info.Env()), info[0].As<Napi::Number>().Int32Value(), &id),
        "register endpoint " + std::to_string(id.instance_id));
  return info.Env().Undefined();
}

// removeEndpoint(fd, instanceId)
Napi::Value RouterWrap::RemoveEndpoint(const Napi::CallbackInfo &info) {
  Check(info.Env(),
        ferry_router_remove_endpoint(Live(info.Env()), info[0].As<Napi::Number>().Int32Value(), U32(info[1])),
        "remove endpoint");
  return info.Env().Undefined();
}

// setRoute(chainId, stage, [{instance, weight}])
Napi::Value RouterWrap::SetRoute(const Napi::CallbackInfo &info) {
  Napi::Array arr = info[2].As<Napi::Array>();
  std::vector<uint32_t> inst(arr.Length()), weight(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object e = arr.Get(i).As<Napi::Object>();
    inst[i] = U32(e.Get("instance"));
    weight[i] = U32(e.Get("weight"));
  }
  Check(info.Env(),
        ferry_router_set_route(Live(info.Env()), U32(info[0]), static_cast<uint16_t>(U32(info[1])), inst.data(),
                               weight.data(), arr.Length()),
        "set route (at most " + std::to_string(FERRY_MAX_REPLICAS) + " instances per stage)");
  return info.Env().Undefined();
}

Napi::Value RouterWrap::DeleteRoute(const Napi::CallbackInfo &info) {
  Check(info.Env(),
        ferry_router_delete_route(Live(info.Env()), U32(info[0]), static_cast<uint16_t>(U32(info[1]))),
        "delete route");
  return info.Env().Undefined();
}

// setRing(chainId, stage, points: number[], instances: number[]): points ascending.
Napi::Value RouterWrap::SetRing(const Napi::CallbackInfo &info) {
  Napi::Array pts = info[2].As<Napi::Array>(), ids = info[3].As<Napi::Array>();
  if (pts.Length() != ids.Length()) throw Napi::TypeError::New(info.Env(), "setRing: one instance per point");
  std::vector<uint32_t> point(pts.Length()), inst(pts.Length());
  for (uint32_t i = 0; i < pts.Length(); i++) {
    point[i] = U32(pts.Get(i));
    inst[i] = U32(ids.Get(i));
  }
  Check(info.Env(),
        ferry_router_set_ring(Live(info.Env()), U32(info[0]), static_cast<uint16_t>(U32(info[1])), point.data(),
                              inst.data(), pts.Length()),
        "set ring (1.." + std::to_string(FERRY_RING_MAX) + " ascending points, each owned by an instance)");
  return info.Env().Undefined();
}

Napi::Value RouterWrap::DeleteRing(const Napi::CallbackInfo &info) {
  Check(info.Env(), ferry_router_delete_ring(Live(info.Env()), U32(info[0]), static_cast<uint16_t>(U32(info[1]))),
        "delete ring");
  return info.Env().Undefined();
}

// allow(chainId, fromStage, toStage, allowed = true)
Napi::Value RouterWrap::Allow(const Napi::CallbackInfo &info) {
  bool allowed = info.Length() < 4 || info[3].ToBoolean();
  Check(info.Env(),
        ferry_router_allow(Live(info.Env()), U32(info[0]), static_cast<uint16_t>(U32(info[1])),
                           static_cast<uint16_t>(U32(info[2])), allowed ? 1 : 0),
        "allow-list update");
  return info.Env().Undefined();
}

// counters(instanceId) -> {rxMsgs, rxBytes, txMsgs, txBytes, drops: {...}}
Napi::Value RouterWrap::Counters(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ferry_counters c{};
  Check(env, ferry_router_read_counters(Live(env), U32(info[0]), &c), "read counters");
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxMsgs", static_cast<double>(c.rx_msgs));
  o.Set("rxBytes", static_cast<double>(c.rx_bytes));
  o.Set("txMsgs", static_cast<double>(c.tx_msgs));
  o.Set("txBytes", static_cast<double>(c.tx_bytes));
  Napi::Object drops = Napi::Object::New(env);
  for (int i = 0; i < FERRY_DROP_MAX; i++) drops.Set(kDropNames[i], static_cast<double>(c.drops[i]));
  o.Set("drops", drops);
  return o;
}

Napi::Value RouterWrap::Close(const Napi::CallbackInfo &info) {
  if (open_) ferry_router_close(&r_);
  open_ = false;
  return info.Env().Undefined();
}

Napi::Value RouterWrap::Unpin(const Napi::CallbackInfo &info) {
  std::string dir = info[0].As<Napi::String>();
  Check(info.Env(), ferry_router_unpin(dir.c_str()), "unpin " + dir);
  return info.Env().Undefined();
}

}  // namespace ferry
