// Topology module
