import ArgumentParser
import Control
import V2M

// The libraries' choices as typed command-line values: an unknown one is refused by the parser, naming the
// option and the values it takes.

extension HypervisorChoice: ExpressibleByArgument {
    public static var allValueStrings: [String] { ["auto"] + HypervisorKind.allCases.map(\.rawValue) }
}
extension AcceleratorChoice: ExpressibleByArgument {}
extension JobOptions.FailurePolicy: ExpressibleByArgument {}
extension NodeTaskPlan.MPIMode: ExpressibleByArgument {}
