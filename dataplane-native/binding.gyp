{
  "targets": [
    {
      "target_name": "ferry_native",
      "sources": [
        "addon/module.cc",
        "addon/errors.cc",
        "addon/poller.cc",
        "addon/pool_wrap.cc",
        "addon/instance_wrap.cc",
        "addon/endpoint_wrap.cc",
        "addon/router_wrap.cc",
        "addon/fl.cc",
        "aggregator/fold.c",
        "src/pool.c",
        "src/descriptor.c",
        "src/endpoint.c",
        "src/instance.c",
        "src/control.c",
        "src/bpf_loader.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-std=c++17", "-fexceptions", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
