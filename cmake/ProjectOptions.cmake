# SPDX-License-Identifier: Apache-2.0
# Compile options applied to project targets only (never to third-party code).
add_library(flowmrd_project_options INTERFACE)
target_compile_options(flowmrd_project_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>
  # GCC 12 reports false -Wrestrict positives inside std::string at -O3 (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(FLOWMRD_WERROR)
  target_compile_options(flowmrd_project_options INTERFACE -Werror)
endif()
if(FLOWMRD_ASSERTIONS)
  # Release with assertions: drop NDEBUG that CMake adds for Release/RelWithDebInfo.
  string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")
  string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_RELWITHDEBINFO "${CMAKE_CXX_FLAGS_RELWITHDEBINFO}")
endif()
if(FLOWMRD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
