#include "errors.h"

#include <cerrno>
#include <cstring>

extern "C" {
#include "ferry/pool.h"
}

namespace ferry {

const char *CodeName(int rc) {
  switch (rc) {
    case FERRY_EPOOL_EXHAUSTED: return "EPOOL_EXHAUSTED";
    case FERRY_ETOO_LARGE: return "ETOO_LARGE";
    case FERRY_EBAD_OFFSET: return "EBAD_OFFSET";
    case FERRY_ESTALE: return "ESTALE";
    case FERRY_EDOUBLE_FREE: return "EDOUBLE_FREE";
    case FERRY_EBAD_LENGTH: return "EBAD_LENGTH";
    case FERRY_EBAD_POOL: return "EBAD_POOL";
    case FERRY_ENOT_OWNER: return "ENOT_OWNER";
    case FERRY_ERETIRED: return "ERETIRED";
    case FERRY_ESEALED: return "ESEALED";
    case -EACCES: return "EACCES";
    case -EPERM: return "EPERM";
    case -EINVAL: return "EINVAL";
    case -ENOENT: return "ENOENT";
    case -E2BIG: return "E2BIG";
    case -ECONNRESET: return "ECONNRESET";
    case -EPIPE: return "EPIPE";
    default: return "EFERRY";
  }
}

void ThrowCode(Napi::Env env, int rc, const std::string &context) {
  std::string msg = context + ": " + ferry_pool_strerror(rc);
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, CodeName(rc)));
  err.Set("errno", Napi::Number::New(env, rc));
  throw err;
}

}  // namespace ferry
