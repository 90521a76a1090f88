// Errors thrown to JavaScript carry a stable `code` (EPOOL_EXHAUSTED, ...)
// so TypeScript can branch on them, and a message that says what to do.
#pragma once
#include <napi.h>
#include <string>

namespace ferry {
// Throw for a negative return of the C layer (errno or FERRY_E* code).
[[noreturn]] void ThrowCode(Napi::Env env, int rc, const std::string &context);
const char *CodeName(int rc);
}  // namespace ferry
