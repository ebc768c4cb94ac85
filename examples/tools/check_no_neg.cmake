# Fails the build when the BPF object OBJ contains a `neg` instruction (llvm-objdump spells it
# "rN = -rN" or "wN = -wN"). Usage: cmake -DOBJ=file.o -DOBJDUMP=llvm-objdump -P check_no_neg.cmake
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${OBJ} OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "llvm-objdump failed on ${OBJ}")
endif()
string(REGEX MATCH "[rw][0-9]+ = -[rw][0-9]+" neg "${listing}")
if(neg)
  message(FATAL_ERROR "${OBJ} contains a neg instruction (${neg}): the kernel's verifier crashes on some neg "
                      "patterns here; rewrite the negation (see negate() in tools_common.h)")
endif()
