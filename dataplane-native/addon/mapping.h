// A pool mapping exposed to JavaScript as one external ArrayBuffer; every
// payload view is a Uint8Array on it. The ArrayBuffer owns the mapping: it is
// unmapped when the buffer is collected, or at once by Unmap(), which first
// detaches the buffer so no view can touch unmapped memory.
#pragma once
#include <napi.h>

extern "C" {
#include "ferry/pool.h"
}

namespace ferry {

struct Mapping {
  void *base = nullptr;
  size_t size = 0;
};

// Hand p's mapping to a new ArrayBuffer; p keeps using the same memory.
Napi::ArrayBuffer AdoptMapping(Napi::Env env, ferry_pool *p, Mapping **out);
// Detach the buffer and unmap now; afterwards p must not be used.
void Unmap(Napi::ArrayBuffer ab, Mapping *m, ferry_pool *p);

}  // namespace ferry
