import Testing
@testable import NodeAgent

/// Open MPI's fabric components are left out only on a node without any hardware they drive, and never
/// against a user's or site's selection.
@Suite struct OpenMPIFabricsTests {
    let bare = OpenMPIFabrics.Node(rdmaDevices: 0, fabricDeviceNodes: 0, configured: [:])

    @Test func aNodeWithoutFabricHardwareSkipsTheFabricComponents() {
        #expect(OpenMPIFabrics.environment(node: bare, taskEnvironment: ["PATH": "/usr/bin", "OMPI_MCA_mpi_oversubscribe": "1"])
            == ["OMPI_MCA_mtl": "^ofi,psm,psm2", "OMPI_MCA_btl": "^ofi"])
    }

    @Test func anyFabricDeviceKeepsThemAll() {
        var rdma = bare
        rdma.rdmaDevices = 1
        var omniPath = bare
        omniPath.fabricDeviceNodes = 1
        #expect(OpenMPIFabrics.environment(node: rdma, taskEnvironment: [:]).isEmpty)
        #expect(OpenMPIFabrics.environment(node: omniPath, taskEnvironment: [:]).isEmpty)
        for device in ["hfi1_0", "hfi1", "ipath", "ipath0", "cxi0", "kgni0"] { #expect(OpenMPIFabrics.isFabricDevice(device), "\(device)") }
        for other in ["null", "infiniband", "hfi", "shm", "tty1"] { #expect(!OpenMPIFabrics.isFabricDevice(other), "\(other)") }
    }

    @Test func theTasksOwnSelectionIsKept() {
        #expect(OpenMPIFabrics.environment(node: bare, taskEnvironment: ["OMPI_MCA_mtl": "psm2"]) == ["OMPI_MCA_btl": "^ofi"])
        #expect(OpenMPIFabrics.environment(node: bare, taskEnvironment: ["OMPI_MCA_mtl": "", "OMPI_MCA_btl": "self,tcp"]).isEmpty)
    }

    @Test func aParameterFilesExclusionsAreExtendedAndItsInclusionsKept() {
        // Debian 12's /etc/openmpi/openmpi-mca-params.conf.
        let debian = """
            # comment: mtl = psm2
            btl_base_warn_component_unused=0
            mtl = ^ofi
            btl = ^uct,openib,ofi  # trailing comment
            pml = ^ucx
            """
        let selections = OpenMPIFabrics.selections(inParameterFile: debian)
        #expect(selections == ["mtl": "^ofi", "btl": "^uct,openib,ofi"])
        var node = bare
        node.configured = selections
        // The variable replaces the file's value: it repeats the file's exclusions; btl already leaves ofi out.
        #expect(OpenMPIFabrics.environment(node: node, taskEnvironment: [:]) == ["OMPI_MCA_mtl": "^ofi,psm,psm2"])
        node.configured = ["mtl": "psm2", "btl": "self,vader,tcp"]
        #expect(OpenMPIFabrics.environment(node: node, taskEnvironment: [:]).isEmpty)
        #expect(OpenMPIFabrics.selections(inParameterFile: "btl_tcp_if_include = eth0\nmtl=^psm\nmtl = ^psm2\n") == ["mtl": "^psm2"])
    }
}
