# cmake -DOBJDUMP=... -DOBJ=... -P check_no_neg.cmake: fails (and deletes OBJ) when the BPF object
# holds a `neg` instruction, which must never be loaded into this machine's kernel (DEVELOPERS.md).
execute_process(COMMAND ${OBJDUMP} -d ${OBJ} OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OBJ})
  message(FATAL_ERROR "${OBJDUMP} -d ${OBJ} failed")
endif()
if(listing MATCHES " = -[rw][0-9]")
  file(REMOVE ${OBJ})
  message(FATAL_ERROR "${OBJ}: holds a neg instruction; rewrite the source without one")
endif()
