# Generates, at build time, everything derived from proto/:
#   gen/dossier/v1/*.pb-c.[ch]   protobuf-c code (never committed)
#   gen/google/protobuf/descriptor.pb-c.[ch]  to read Describe's answer
#   gen/api_descriptor.c         the FileDescriptorSet served by Describe
#   python/dossier/v1/*_pb2.py   the Python client's messages

set(DOSSIER_PROTO_DIR ${PROJECT_SOURCE_DIR}/proto)
set(DOSSIER_PROTOS rpc options report reports cluster)
set(DOSSIER_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
set(DOSSIER_PY_DIR ${CMAKE_BINARY_DIR}/python)

set(proto_files)
set(DOSSIER_PROTO_SOURCES)
set(py_outputs)
foreach(name ${DOSSIER_PROTOS})
    list(APPEND proto_files ${DOSSIER_PROTO_DIR}/dossier/v1/${name}.proto)
    list(APPEND DOSSIER_PROTO_SOURCES
         ${DOSSIER_GEN_DIR}/dossier/v1/${name}.pb-c.c)
    list(APPEND py_outputs ${DOSSIER_PY_DIR}/dossier/v1/${name}_pb2.py)
endforeach()

set(c_outputs ${DOSSIER_PROTO_SOURCES})
foreach(name ${DOSSIER_PROTOS})
    list(APPEND c_outputs ${DOSSIER_GEN_DIR}/dossier/v1/${name}.pb-c.h)
endforeach()

add_custom_command(
    OUTPUT ${c_outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DOSSIER_GEN_DIR}
    COMMAND ${PROTOC_C} --c_out=${DOSSIER_GEN_DIR} -I${DOSSIER_PROTO_DIR}
            -I${PROTOBUF_DESCRIPTOR_DIR}
            ${proto_files}
    DEPENDS ${proto_files}
    COMMENT "protoc-c: dossier/v1"
    VERBATIM)

set(descriptor_c ${DOSSIER_GEN_DIR}/google/protobuf/descriptor.pb-c.c)
add_custom_command(
    OUTPUT ${descriptor_c} ${DOSSIER_GEN_DIR}/google/protobuf/descriptor.pb-c.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DOSSIER_GEN_DIR}
    COMMAND ${PROTOC_C} --c_out=${DOSSIER_GEN_DIR} -I${PROTOBUF_DESCRIPTOR_DIR}
            ${PROTOBUF_DESCRIPTOR_DIR}/google/protobuf/descriptor.proto
    COMMENT "protoc-c: google/protobuf/descriptor.proto"
    VERBATIM)
list(APPEND DOSSIER_PROTO_SOURCES ${descriptor_c})

set(desc_bin ${DOSSIER_GEN_DIR}/dossier-api.desc)
set(desc_c ${DOSSIER_GEN_DIR}/api_descriptor.c)
add_custom_command(
    OUTPUT ${desc_bin} ${desc_c}
    COMMAND ${PROTOC} --include_imports --descriptor_set_out=${desc_bin}
            -I${DOSSIER_PROTO_DIR} -I${PROTOBUF_DESCRIPTOR_DIR} ${proto_files}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${desc_bin} -DOUTPUT=${desc_c}
            -DSYMBOL=dossier_api_descriptor
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    DEPENDS ${proto_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    COMMENT "protoc: API descriptor set for Describe"
    VERBATIM)
list(APPEND DOSSIER_PROTO_SOURCES ${desc_c})

add_custom_command(
    OUTPUT ${py_outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DOSSIER_PY_DIR}
    COMMAND ${PROTOC} --python_out=${DOSSIER_PY_DIR} -I${DOSSIER_PROTO_DIR}
            -I${PROTOBUF_DESCRIPTOR_DIR}
            ${proto_files}
    COMMAND ${CMAKE_COMMAND} -E touch ${DOSSIER_PY_DIR}/dossier/__init__.py
            ${DOSSIER_PY_DIR}/dossier/v1/__init__.py
    DEPENDS ${proto_files}
    COMMENT "protoc: Python messages"
    VERBATIM)
add_custom_target(python_proto ALL DEPENDS ${py_outputs})

# Other directories compile these files; this target is what makes them.
add_custom_target(dossier_proto_gen ALL
    DEPENDS ${c_outputs} ${descriptor_c} ${desc_c})
