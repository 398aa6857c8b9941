# Writes the shell completion scripts that the built mex prints (`mex completion SHELL`), for
# `cmake --install`. Run as: cmake -DMEX=path/to/mex -DOUT=folder -P completions.cmake
foreach(shell bash zsh fish)
  set(file ${OUT}/mex.${shell})
  execute_process(COMMAND ${MEX} completion ${shell} OUTPUT_FILE ${file}.new
    RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "mex completion ${shell} failed: ${status}")
  endif()
  file(RENAME ${file}.new ${file})
endforeach()
