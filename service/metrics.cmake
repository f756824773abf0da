# The service's Prometheus metrics as a library of its own, so that tests link it without
# the server. Included by service/CMakeLists.txt; paths are relative to this file.
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(gRPC CONFIG REQUIRED)

smollm_add_module(service_metrics
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics.cc ${CMAKE_CURRENT_LIST_DIR}/metrics_exposer.cc
  DEPS smollm_engine prometheus-cpp::core prometheus-cpp::pull
       gRPC::grpc++  # grpc::StatusCode only
       absl::status absl::statusor absl::strings absl::synchronization absl::time)
