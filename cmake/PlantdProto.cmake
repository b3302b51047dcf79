# plantd_proto_library(TARGET PROTO_ROOT FILES...)
# Generates C++ messages and gRPC stubs for FILES (paths relative to
# PROTO_ROOT) into ${CMAKE_CURRENT_BINARY_DIR}/gen and builds them as TARGET.
function(plantd_proto_library target proto_root)
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen_dir})
  set(sources)
  foreach(rel IN LISTS ARGN)
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs
      ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.pb.h
      ${gen_dir}/${stem}.grpc.pb.cc ${gen_dir}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc
        --proto_path=${proto_root}
        --cpp_out=${gen_dir}
        --grpc_out=${gen_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${proto_root}/${rel}
      DEPENDS ${proto_root}/${rel} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND sources ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.grpc.pb.cc)
  endforeach()
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} SYSTEM PUBLIC ${gen_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  # Generated code is not ours to warn about.
  target_compile_options(${target} PRIVATE -w)
endfunction()
