#include <gtest/gtest.h>
// PLACEHOLDER
