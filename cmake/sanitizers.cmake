# Sanitizer builds: SMOLLM_SANITIZE lists the -fsanitize= checks for every target, e.g.
# "address,undefined" or "thread" (ThreadSanitizer cannot be combined with address or leak).
if(NOT SMOLLM_SANITIZE)
  return()
endif()

string(REPLACE "," ";" _smollm_sanitizers "${SMOLLM_SANITIZE}")
if("thread" IN_LIST _smollm_sanitizers AND
   ("address" IN_LIST _smollm_sanitizers OR "leak" IN_LIST _smollm_sanitizers))
  message(FATAL_ERROR "SMOLLM_SANITIZE=${SMOLLM_SANITIZE}: thread cannot be combined with address or leak")
endif()

add_compile_options(-fsanitize=${SMOLLM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
add_link_options(-fsanitize=${SMOLLM_SANITIZE})

if("thread" IN_LIST _smollm_sanitizers)
  # GCC warns that TSan does not model std::atomic_thread_fence, which Abseil's flag
  # headers use (sequence locks read once the flags are parsed, before any thread starts).
  add_compile_options(-Wno-tsan)
  # Debian's Abseil is not built with TSan, so absl::Mutex, CondVar and Notification are
  # invisible to it. Every target made after this point links the annotation library
  # first, ahead of libabsl_synchronization (tests/tsan/absl_sync_annotations.cc says how).
  add_library(smollm_tsan_absl SHARED ${PROJECT_SOURCE_DIR}/tests/tsan/absl_sync_annotations.cc)
  target_compile_options(smollm_tsan_absl PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(smollm_tsan_absl PRIVATE absl::synchronization ${CMAKE_DL_LIBS})
  link_libraries(smollm_tsan_absl)
endif()
