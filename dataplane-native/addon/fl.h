// Federated learning in the addon: abi.h's FL wire layout (layout.fl) and
// the aggregator's own float32 kernels (aggregator/fold.c) for TypeScript
// callers, so a TS aggregator (the gRPC baseline in bench/fl) does exactly
// ferry's arithmetic.
#pragma once
#include <napi.h>

namespace ferry {

// The FL part of `layout`: sizes, constants and field offsets (offsetof).
Napi::Object FlLayout(Napi::Env env);
// Adds flFold and flAllFinite to exports.
void FlInit(Napi::Env env, Napi::Object exports);

}  // namespace ferry
