// FL layout and kernels for TypeScript: see fl.h.
#include "fl.h"

#include <cstddef>
#include <initializer_list>
#include <string>


extern "C" {
#include "ferry/abi.h"
#include "../aggregator/fold.h"
}

namespace ferry {

namespace {
struct Entry {
  const char *name;
  uint32_t value;
};

// An object of named numbers: a table of constants or field offsets.
Napi::Object Table(Napi::Env env, std::initializer_list<Entry> entries) {
  Napi::Object o = Napi::Object::New(env);
  for (const Entry &e : entries) o.Set(e.name, e.value);
  return o;
}

Napi::Object Record(Napi::Env env, uint32_t size, Napi::Object fields) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("size", size);
  o.Set("fields", fields);
  return o;
}
}  // namespace

#define U(c) offsetof(ferry_fl_update, c)
#define M(c) offsetof(ferry_fl_msg, c)

Napi::Object FlLayout(Napi::Env env) {
  Napi::Object o = Table(env, {
      {"headerSize", FERRY_FL_HEADER_SIZE},
      {"dtypeFloat32", FERRY_FL_DTYPE_FLOAT32},
      {"clientIdMax", FERRY_FL_CLIENT_ID_MAX},
      {"updateMagic", FERRY_FL_UPDATE_MAGIC},
      {"updateVersion", FERRY_FL_UPDATE_VERSION},
      {"msgMagic", FERRY_FL_MSG_MAGIC},
      {"msgVersion", FERRY_FL_MSG_VERSION},
      {"flushDiscard", FERRY_FL_FLUSH_DISCARD},
  });
  o.Set("op", Table(env, {{"update", FERRY_FL_OP_UPDATE}, {"flush", FERRY_FL_OP_FLUSH},
                          {"partial", FERRY_FL_OP_PARTIAL}, {"model", FERRY_FL_OP_MODEL},
                          {"ack", FERRY_FL_OP_ACK}}));
  o.Set("update", Record(env, sizeof(ferry_fl_update),
                         Table(env, {{"magic", U(magic)}, {"version", U(version)}, {"dtype", U(dtype)},
                                     {"numExamples", U(num_examples)}, {"paramCount", U(param_count)},
                                     {"round", U(round)}, {"reserved", U(reserved)},
                                     {"clientId", U(client_id)}})));
  o.Set("msg", Record(env, sizeof(ferry_fl_msg),
                      Table(env, {{"magic", M(magic)}, {"version", M(version)}, {"op", M(op)},
                                  {"round", M(round)}, {"paramCount", M(param_count)}, {"weight", M(weight)},
                                  {"count", M(count)}, {"expectParent", M(expect_parent)},
                                  {"expectTop", M(expect_top)}, {"baseGeneration", M(base_generation)},
                                  {"baseOffset", M(base_offset)}, {"flags", M(flags)},
                                  {"reserved", M(reserved)}})));
  return o;
}

#undef U
#undef M

static Napi::Float32Array Floats(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Float32Array");
  }
  return info[i].As<Napi::Float32Array>();
}

// flFold(acc, update, weight): acc[i] += weight * update[i], in float32.
static Napi::Value FlFold(const Napi::CallbackInfo &info) {
  Napi::Float32Array acc = Floats(info, 0, "flFold: acc");
  Napi::Float32Array u = Floats(info, 1, "flFold: update");
  if (info.Length() < 3 || !info[2].IsNumber())
    throw Napi::TypeError::New(info.Env(), "flFold: weight must be a number");
  if (acc.ElementLength() != u.ElementLength())
    throw Napi::RangeError::New(info.Env(), "flFold: acc has " + std::to_string(acc.ElementLength()) +
                                                " values and update " + std::to_string(u.ElementLength()) +
                                                ": fold tensors of one model");
  if (acc.ArrayBuffer().Data() == u.ArrayBuffer().Data() && acc.ByteOffset() < u.ByteOffset() + u.ByteLength() &&
      u.ByteOffset() < acc.ByteOffset() + acc.ByteLength())
    throw Napi::RangeError::New(info.Env(), "flFold: acc and update overlap: fold into a separate accumulator");
  ferry_fl_fold(acc.Data(), u.Data(), static_cast<float>(info[2].As<Napi::Number>().DoubleValue()),
                acc.ElementLength());
  return info.Env().Undefined();
}

// flAllFinite(values): no NaN and no infinity anywhere.
static Napi::Value FlAllFinite(const Napi::CallbackInfo &info) {
  Napi::Float32Array v = Floats(info, 0, "flAllFinite: values");
  return Napi::Boolean::New(info.Env(), ferry_fl_all_finite(v.Data(), v.ElementLength()) != 0);
}

void FlInit(Napi::Env env, Napi::Object exports) {
  exports.Set("flFold", Napi::Function::New(env, FlFold));
  exports.Set("flAllFinite", Napi::Function::New(env, FlAllFinite));
}

}  // namespace ferry
