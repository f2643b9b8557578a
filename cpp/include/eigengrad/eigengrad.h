// eigengrad: the whole C++ API.
#pragma once

#include "eigengrad/config.h"
#include "eigengrad/engine.h"
#include "eigengrad/errors.h"
#include "eigengrad/memory.h"
#include "eigengrad/monitor.h"
#include "eigengrad/ops.h"
#include "eigengrad/tensor.h"
#include "eigengrad/threads.h"
#include "eigengrad/variable.h"
#include "eigengrad/nn.h"
#include "eigengrad/optim.h"
