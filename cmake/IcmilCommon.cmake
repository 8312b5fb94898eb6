# One INTERFACE target carries the language standard, warnings and Qt defines for every room.
add_library(icmil_common INTERFACE)
target_compile_features(icmil_common INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(icmil_common INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wold-style-cast -Wnon-virtual-dtor>
  $<$<AND:$<BOOL:${ICMIL_WERROR}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)
target_compile_definitions(icmil_common INTERFACE
  QT_NO_KEYWORDS                # Qt's `slots`/`signals` clash with LibTorch headers
  QT_NO_CAST_FROM_ASCII
  QT_NO_CAST_TO_ASCII
  ICMIL_VERSION="${PROJECT_VERSION}")
