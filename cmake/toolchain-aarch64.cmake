# Cross-compiling bpfvm for AArch64 Linux on a Debian host (multiarch :arm64 -dev packages plus
# g++-aarch64-linux-gnu). Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR, so ctest
# and gtest_discover_tests work unchanged.
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(BPFVM_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${BPFVM_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${BPFVM_CROSS_TRIPLE}-g++)

# Debian multiarch: target libraries live in /usr/lib/aarch64-linux-gnu, headers in /usr/include
# (arch-specific ones in /usr/include/aarch64-linux-gnu); the cross libc is in /usr/aarch64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE ${BPFVM_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${BPFVM_CROSS_TRIPLE} /usr/lib/${BPFVM_CROSS_TRIPLE} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools (clang, python) come from the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Package configs of the target (asmjit, GTest, fmt) before the host's x86_64 ones.
set(CMAKE_PREFIX_PATH /usr/lib/${BPFVM_CROSS_TRIPLE}/cmake)

# pkg-config must report the arm64 .pc files only (libelf, capstone).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${BPFVM_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Run target binaries (test discovery, ctest) under qemu-user with the cross sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/${BPFVM_CROSS_TRIPLE})

# GCC 12 for aarch64 reports a false -Wrestrict in inlined std::string concatenation
# (`s + ":" + std::to_string(n)`, GCC bug 105651) that the x86-64 build does not see.
set(CMAKE_CXX_FLAGS_INIT "-Wno-restrict")
