# cmake -DPROGRAM=path -DNAME=dossier -DSUMMARY="..." -DVERSION=x -DOUTPUT=file.1
#       [-DVERBS=ON] -P ManPage.cmake
# Writes a man page (section 1, man(7) macros) made from the program's own
# --help text, so the page and the program cannot disagree. With VERBS,
# each verb listed under "Verbs:" in --help gets a subsection with its
# `PROGRAM VERB --help`. The help texts go in as they are, preformatted.
function(s_roff_escape text out)
    string(REPLACE "\\" "\\e" text "${text}")
    # A line starting with . or ' would be read as a request.
    string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE help
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} --help exited ${rc}")
endif()
string(TOUPPER "${NAME}" upper)
s_roff_escape("${help}" help_roff)
set(page ".\\\" Generated from `${NAME} --help` by cmake/ManPage.cmake; do not edit.
.TH ${upper} 1 \"\" \"${NAME} ${VERSION}\" \"Dossier\"
.SH NAME
${NAME} \\- ${SUMMARY}
.SH DESCRIPTION
.nf
${help_roff}.fi
")
if(VERBS)
    string(APPEND page ".SH COMMANDS\n")
    string(REGEX REPLACE ".*\nVerbs:\n" "" verbs "${help}")
    string(REGEX REPLACE "\n\n.*" "" verbs "${verbs}")
    string(REGEX MATCHALL "(^|\n)  [a-z]+" names "${verbs}")
    foreach(name ${names})
        string(STRIP "${name}" name)
        execute_process(COMMAND ${PROGRAM} ${name} --help
            OUTPUT_VARIABLE verb_help RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "${PROGRAM} ${name} --help exited ${rc}")
        endif()
        s_roff_escape("${verb_help}" verb_roff)
        string(APPEND page ".SS ${name}\n.nf\n${verb_roff}.fi\n")
    endforeach()
endif()
string(APPEND page ".SH SEE ALSO
.BR dossier (1),
.BR dossierd (1);
the documents in /usr/share/doc/dossier or PREFIX/share/doc/dossier:
README.md, OPERATIONS.md, PROTOCOL.md, ARCHITECTURE.md.
")
file(WRITE ${OUTPUT} "${page}")
