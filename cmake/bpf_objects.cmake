# BPF C compiled with clang -target bpf during the build (examples, test objects). The uapi headers
# (linux/bpf.h, asm/types.h) come from the build machine's multiarch include directory: a BPF
# object is the same whatever the host architecture, cross builds included.
include_guard(DIRECTORY)
find_program(BPFVM_BPF_CLANG NAMES clang-14 clang)
execute_process(COMMAND gcc -print-multiarch OUTPUT_VARIABLE BPFVM_BPF_MULTIARCH
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(BPFVM_BPF_UAPI_INCLUDES "")
if(BPFVM_BPF_MULTIARCH)
  set(BPFVM_BPF_UAPI_INCLUDES -I/usr/include/${BPFVM_BPF_MULTIARCH})
endif()

# bpfvm_bpf_objects(<var> OUTPUT_DIR <dir> SOURCES <X.c ...> [SUFFIX <.o>] [FLAGS <clang flags>]
#                   [DEPENDS <headers>] [COMMENT <text>])
# One custom command per source, compiling it into <dir>/<X><SUFFIX> (X: the file name up to its
# first dot) with -O2 -g -target bpf, the uapi includes and FLAGS; rebuilt when the source or one
# of DEPENDS changes. Sets <var> to the list of objects.
function(bpfvm_bpf_objects out)
  cmake_parse_arguments(A "" "OUTPUT_DIR;SUFFIX;COMMENT" "SOURCES;FLAGS;DEPENDS" ${ARGN})
  if(NOT A_SUFFIX)
    set(A_SUFFIX .o)
  endif()
  set(objects "")
  foreach(src ${A_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    get_filename_component(file ${src} NAME)
    set(obj ${A_OUTPUT_DIR}/${name}${A_SUFFIX})
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${A_OUTPUT_DIR}
      COMMAND ${BPFVM_BPF_CLANG} -O2 -g -target bpf ${A_FLAGS} ${BPFVM_BPF_UAPI_INCLUDES} -c ${src} -o ${obj}
      DEPENDS ${src} ${A_DEPENDS}
      COMMENT "${A_COMMENT} ${file}"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()
  set(${out} ${objects} PARENT_SCOPE)
endfunction()
