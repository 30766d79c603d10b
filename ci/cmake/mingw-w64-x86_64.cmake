# Cross-compiles memsentry for 64-bit Windows with Debian's mingw-w64 and runs
# the tests under Wine:
#   cmake -S . -B /tmp/build-win -DCMAKE_TOOLCHAIN_FILE=ci/cmake/mingw-w64-x86_64.cmake
# The -posix compilers are required: Google Test needs std::mutex, which the
# -win32 thread model lacks. Everything is linked statically so neither the
# tests nor memsentry.dll need libstdc++/libgcc/libwinpthread DLLs at run time.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MS_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${MS_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${MS_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${MS_MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${MS_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

# ctest and gtest_discover_tests run every built executable through Wine. The
# caller provides WINEPREFIX (ci/windows-tests.sh makes a private one).
find_program(MS_WINE wine)
if(MS_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MS_WINE})
endif()

# For tools that run on the build machine (export checks).
set(MS_MINGW_OBJDUMP ${MS_MINGW_TRIPLE}-objdump)
