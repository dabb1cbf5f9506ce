# Embeds the HTML report's script and stylesheet (this directory) into the
# analysis library as C strings gs_html_report_js / gs_html_report_css, so
# `gilscope report --html` writes one self-contained file and needs no data
# files at run time. Included from analysis/CMakeLists.txt; appends the
# generated source to GILSCOPE_ANALYSIS_SOURCES. Editing an asset re-runs
# CMake (CMAKE_CONFIGURE_DEPENDS), which regenerates the C file.
set(_gs_html_c "/* Generated from analysis/render/html/ by analysis/render/html/embed.cmake. */\n")
foreach(_gs_asset report.js report.css)
  set(_gs_file ${CMAKE_CURRENT_LIST_DIR}/${_gs_asset})
  file(READ ${_gs_file} _gs_hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _gs_hex "${_gs_hex}")
  string(MAKE_C_IDENTIFIER "gs_html_${_gs_asset}" _gs_id)
  string(APPEND _gs_html_c "extern const char ${_gs_id}[];\nconst char ${_gs_id}[] = {${_gs_hex}0x00};\n")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_gs_file})
endforeach()
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/html_assets.c
     CONTENT "${_gs_html_c}" @ONLY)
list(APPEND GILSCOPE_ANALYSIS_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/html_assets.c)
