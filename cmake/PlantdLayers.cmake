# plantd_layer(TARGET FOLDER [PUBLIC|PRIVATE])
# TARGET sees FOLDER/... of the source tree, and through what it links the
# folders below it - nothing else: an include that crosses the layering
# (model including drivers/..., drivers including actors/...) does not
# compile. Each folder gets an include root of its own in the build tree,
# holding one link to the folder.
function(plantd_layer target folder)
  set(scope PUBLIC)
  if(ARGC GREATER 2)
    set(scope ${ARGV2})
  endif()
  set(root ${CMAKE_BINARY_DIR}/include/${folder})
  file(MAKE_DIRECTORY ${root})
  if(NOT EXISTS ${root}/${folder})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
  endif()
  target_include_directories(${target} ${scope} ${root})
endfunction()
