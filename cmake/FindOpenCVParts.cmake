# SPDX-License-Identifier: Apache-2.0
# Find the three OpenCV 4 components flowmrd uses (core, imgproc, imgcodecs) as Debian's
# libopencv-{core,imgproc,imgcodecs}-dev install them. Those packages ship no CMake package
# configuration (only the libopencv-dev meta package does, and it pulls in ~150 packages), so
# this module looks for the headers and libraries directly.
#
# Defines the imported target OpenCVParts::OpenCVParts and OpenCVParts_FOUND.
find_path(OpenCVParts_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
find_library(OpenCVParts_core_LIBRARY opencv_core)
find_library(OpenCVParts_imgproc_LIBRARY opencv_imgproc)
find_library(OpenCVParts_imgcodecs_LIBRARY opencv_imgcodecs)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVParts
  REQUIRED_VARS OpenCVParts_INCLUDE_DIR OpenCVParts_core_LIBRARY OpenCVParts_imgproc_LIBRARY
                OpenCVParts_imgcodecs_LIBRARY
  FAIL_MESSAGE "OpenCV core/imgproc/imgcodecs not found: run scripts/setup-deps.sh")

if(OpenCVParts_FOUND AND NOT TARGET OpenCVParts::OpenCVParts)
  add_library(OpenCVParts::OpenCVParts INTERFACE IMPORTED)
  # cvconfig.h lives in the multiarch include directory next to the main one.
  set_target_properties(OpenCVParts::OpenCVParts PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${OpenCVParts_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${OpenCVParts_imgcodecs_LIBRARY};${OpenCVParts_imgproc_LIBRARY};${OpenCVParts_core_LIBRARY}")
endif()
