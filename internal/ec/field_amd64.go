//go:build amd64 && !purego

package ec

import "golang.org/x/sys/cpu"

// useADX selects the assembly field multiplication, which needs the MULX
// (BMI2) and ADCX/ADOX (ADX) instructions: Intel since Broadwell, AMD since
// Zen.
var useADX = cpu.X86.HasBMI2 && cpu.X86.HasADX

//go:noescape
func mulADX(z, x, y *fe)

//go:noescape
func sqrADX(z, x *fe)
