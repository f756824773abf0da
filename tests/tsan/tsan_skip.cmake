# smollm_tsan_skip(REGEX <regex> TARGETS <gtest target>...): labels the GoogleTest cases of
# these targets whose names match <regex> "tsan_skip"; tests/run.sh's ThreadSanitizer pass
# leaves them out (ctest -LE tsan_skip) and the release and ASan passes run them. For the
# model-heavy scenarios of one sequence at a time, which add no interleaving to the
# concurrent tests that stay and run many times slower under TSan.
#
# gtest_discover_tests names the cases only when CTest reads the build tree, so the labels
# are set there, by a script this directory's CTest file includes after the discovery
# scripts (call this after the targets' smollm_add_test). A target that was not built
# contributes no names.
function(smollm_tsan_skip)
  cmake_parse_arguments(ARG "" "REGEX" "TARGETS" ${ARGN})
  set(lists "")
  foreach(target IN LISTS ARG_TARGETS)
    string(APPEND lists " \${${target}_TESTS}")
  endforeach()
  set(script "${CMAKE_CURRENT_BINARY_DIR}/tsan_skip_labels.cmake")
  file(WRITE "${script}"
    "foreach(test IN ITEMS${lists})\n"
    "  if(test MATCHES [=[${ARG_REGEX}]=])\n"
    "    set_tests_properties(\"\${test}\" PROPERTIES LABELS tsan_skip)\n"
    "  endif()\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
