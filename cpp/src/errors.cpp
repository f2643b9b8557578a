// The exception types' out-of-line members: each class's virtual table and type
// information are emitted here, in one translation unit, so that an exception
// thrown in the core and caught in the bindings has one type identity.
#include "eigengrad/errors.h"

namespace eigengrad {

TypeError::~TypeError() = default;
AxisError::~AxisError() = default;
LinAlgError::~LinAlgError() = default;
OutOfMemory::~OutOfMemory() = default;
const char* OutOfMemory::what() const noexcept { return message_.c_str(); }
InternalError::~InternalError() = default;

}  // namespace eigengrad
