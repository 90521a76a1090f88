// SPDX-License-Identifier: Apache-2.0
/*
 * A `runtime: native` function for the chain baselines: loads the stage's
 * shared object and calls it over chains/lib/heap_call.c, the ferry C ABI
 * on malloc'ed buffers with ferry-runner's semantics (the same code the
 * native sanitizer tests run). One call per request, synchronously, on
 * the JS thread: ferry-runner also runs one call at a time.
 *
 * Load this addon with RTLD_GLOBAL (process.dlopen): the function's shared
 * object resolves ferry_input, ferry_respond, ... against it by name.
 *
 *   const fn = new NativeFunction(soPath, stageName, nextNames, maxAlloc);
 *   fn.call(input: Uint8Array, requestId: bigint) ->
 *     { ok: true, output: Buffer, next: number, status: number, tag: string }
 *       (status 0: hand on to next[next]; else ferry_respond's answer)
 *   | { ok: false, message: string, status: number, tag: string }
 *       (status 0: a plain failure; else ferry_fail_status's error)
 */
#include <dlfcn.h>
#include <napi.h>

#include <string>
#include <vector>

extern "C" {
#include "lib/heap_call.h"
}

namespace {

class NativeFunction : public Napi::ObjectWrap<NativeFunction> {
public:
	static Napi::Object Init(Napi::Env env, Napi::Object exports)
	{
		exports.Set("NativeFunction", DefineClass(env, "NativeFunction", { InstanceMethod("call", &NativeFunction::Call) }));
		return exports;
	}

	explicit NativeFunction(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeFunction>(info)
	{
		Napi::Env env = info.Env();
		if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsArray() || !info[3].IsNumber())
			throw Napi::TypeError::New(env, "new NativeFunction(soPath, stageName, nextNames[], maxAlloc)");
		std::string so = info[0].As<Napi::String>();
		stage_ = info[1].As<Napi::String>();
		Napi::Array next = info[2].As<Napi::Array>();
		for (uint32_t i = 0; i < next.Length(); i++)
			next_.push_back(next.Get(i).As<Napi::String>());
		for (const auto &n : next_)
			next_ptrs_.push_back(n.c_str());
		fn_.stage_name = stage_.c_str();
		fn_.next = next_ptrs_.data();
		fn_.n_next = static_cast<int>(next_ptrs_.size());
		fn_.max_alloc = info[3].As<Napi::Number>().Uint32Value();

		lib_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
		if (!lib_)
			throw Napi::Error::New(env, std::string("cannot load ") + so + ": " + dlerror() +
							   " (build it with `make -C chains`; load this addon with RTLD_GLOBAL)");
		handle_ = reinterpret_cast<ferry_handle_fn>(dlsym(lib_, "ferry_handle"));
		if (!handle_)
			throw Napi::Error::New(env, so + " exports no ferry_handle: implement ferry/ferry_fn.h");
		auto init = reinterpret_cast<ferry_init_fn>(dlsym(lib_, "ferry_init"));
		if (init && init(stage_.c_str()) != 0)
			throw Napi::Error::New(env, so + ": ferry_init(\"" + stage_ + "\") failed");
	}

private:
	Napi::Value Call(const Napi::CallbackInfo &info)
	{
		Napi::Env env = info.Env();
		if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsBigInt())
			throw Napi::TypeError::New(env, "call(input: Uint8Array, requestId: bigint)");
		Napi::Uint8Array in = info[0].As<Napi::Uint8Array>();
		bool lossless;
		uint64_t request_id = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
		uint32_t len = static_cast<uint32_t>(in.ByteLength());

		struct ferry_call c;
		int rc = ferry_heap_call(handle_, &fn_, &c, in.Data(), len, ferry_heap_capacity(len), request_id);
		Napi::Object r = Napi::Object::New(env);
		r.Set("ok", Napi::Boolean::New(env, rc == 0));
		r.Set("status", Napi::Number::New(env, c.answer.status));
		r.Set("tag", Napi::String::New(env, c.answer.tag));
		if (rc == 0) {
			r.Set("output", Napi::Buffer<uint8_t>::Copy(env, ferry_heap_output(&c), c.out_len));
			r.Set("next", Napi::Number::New(env, c.next_index));
		} else {
			r.Set("message", Napi::String::New(env, c.error));
		}
		ferry_heap_free(&c);
		return r;
	}

	std::string stage_;
	std::vector<std::string> next_;
	std::vector<const char *> next_ptrs_;
	struct ferry_heap_fn fn_ {};
	void *lib_ = nullptr;
	ferry_handle_fn handle_ = nullptr;
};

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	return NativeFunction::Init(env, exports);
}

} // namespace

NODE_API_MODULE(ferry_heap, Init)
