# Writes OUT: a C++ file holding every *.json of DIR as a builtin_source.
# Run as: cmake -DDIR=... -DOUT=... -P EmbedPointTables.cmake
file(GLOB tables RELATIVE ${DIR} ${DIR}/*.json)
list(SORT tables)
set(body "")
foreach(t IN LISTS tables)
  file(READ ${DIR}/${t} text)
  string(APPEND body "  {\"${t}\", R\"plantd_json(${text})plantd_json\"},\n")
endforeach()
list(LENGTH tables n)
file(WRITE ${OUT}.tmp
"// Generated from drivers/pointtables/*.json by cmake/EmbedPointTables.cmake.
#include <cstddef>
namespace plantd::pointtables {
struct builtin_source { const char* file; const char* text; };
extern const builtin_source builtin_sources[];
extern const std::size_t builtin_source_count;
const builtin_source builtin_sources[] = {
${body}};
const std::size_t builtin_source_count = ${n};
} // namespace plantd::pointtables
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
