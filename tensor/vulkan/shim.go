//go:build cgo && linux && !android

package vulkan

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The Vulkan declarations below are the few this shim needs, spelled out so
// that building needs no Vulkan headers (only libvulkan.so.1 at run time).

typedef void (*vkg_voidfn)(void);
typedef vkg_voidfn (*vkg_gipa_fn)(void* instance, const char* name);

static void* vkg_lib;
static vkg_gipa_fn vkg_gipa;
static char vkg_err[512];

// vkg_load dlopens the loader and finds vkGetInstanceProcAddr. It returns
// NULL on success or a message.
static const char* vkg_load(const char* name) {
	if (vkg_gipa) return NULL;
	vkg_lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!vkg_lib) {
		const char* e = dlerror();
		snprintf(vkg_err, sizeof vkg_err, "%s", e ? e : "dlopen failed");
		return vkg_err;
	}
	vkg_gipa = (vkg_gipa_fn)dlsym(vkg_lib, "vkGetInstanceProcAddr");
	if (!vkg_gipa) {
		snprintf(vkg_err, sizeof vkg_err, "%s has no vkGetInstanceProcAddr", name);
		return vkg_err;
	}
	return NULL;
}

static void* vkg_gipa_ptr(void) { return (void*)vkg_gipa; }

// vkg_probe opens name and looks up vkGetInstanceProcAddr without keeping
// either; it returns NULL or a message.
static const char* vkg_probe(const char* name) {
	void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char* e = dlerror();
		snprintf(vkg_err, sizeof vkg_err, "%s", e ? e : "dlopen failed");
		return vkg_err;
	}
	void* f = dlsym(lib, "vkGetInstanceProcAddr");
	dlclose(lib);
	if (!f) {
		snprintf(vkg_err, sizeof vkg_err, "%s has no vkGetInstanceProcAddr", name);
		return vkg_err;
	}
	return NULL;
}

// Structure types (Vulkan 1.1/1.2 core values).
#define VKG_ST_PROPS2 1000059001
#define VKG_ST_SUBGROUP 1000094000
#define VKG_ST_MAINT3 1000168000
#define VKG_ST_DRIVER 1000196000
#define VKG_ST_DEBUG_MESSENGER_CI 1000128004

typedef struct { uint32_t sType; void* pNext; uint32_t subgroupSize, supportedStages, supportedOperations, quadOperationsInAllStages; } vkg_subgroup_props;
typedef struct { uint32_t sType; void* pNext; uint32_t maxPerSetDescriptors; uint64_t maxMemoryAllocationSize; } vkg_maint3_props;
typedef struct { uint32_t sType; void* pNext; uint32_t driverID; char driverName[256]; char driverInfo[256]; uint8_t conformance[4]; } vkg_driver_props;
// VkPhysicalDeviceProperties2 with room for VkPhysicalDeviceProperties
// (824 bytes on LP64) and then some.
typedef struct { uint32_t sType; void* pNext; uint64_t props[256]; } vkg_props2;
typedef void (*vkg_props2_fn)(void* pd, vkg_props2* p);

typedef struct {
	int ok;
	uint32_t subgroupSize, subgroupStages, subgroupOps, subgroupQuadAllStages;
	uint32_t maxPerSetDescriptors;
	uint64_t maxMemoryAllocationSize;
	int hasDriver;
	uint32_t driverID;
	char driverName[256];
	char driverInfo[256];
} vkg_devinfo;

// vkg_props2 calls vkGetPhysicalDeviceProperties2 with the subgroup,
// maintenance-3 and (when withDriver) driver property structs chained.
static void vkg_device_props2(void* instance, void* pd, int withDriver, vkg_devinfo* out) {
	memset(out, 0, sizeof *out);
	vkg_props2_fn f = (vkg_props2_fn)vkg_gipa(instance, "vkGetPhysicalDeviceProperties2");
	if (!f) f = (vkg_props2_fn)vkg_gipa(instance, "vkGetPhysicalDeviceProperties2KHR");
	if (!f) return;
	vkg_props2 p;
	vkg_subgroup_props sg;
	vkg_maint3_props m3;
	vkg_driver_props drv;
	memset(&p, 0, sizeof p);
	memset(&sg, 0, sizeof sg);
	memset(&m3, 0, sizeof m3);
	memset(&drv, 0, sizeof drv);
	p.sType = VKG_ST_PROPS2;
	sg.sType = VKG_ST_SUBGROUP;
	m3.sType = VKG_ST_MAINT3;
	drv.sType = VKG_ST_DRIVER;
	p.pNext = &sg;
	sg.pNext = &m3;
	if (withDriver) m3.pNext = &drv;
	f(pd, &p);
	out->ok = 1;
	out->subgroupSize = sg.subgroupSize;
	out->subgroupStages = sg.supportedStages;
	out->subgroupOps = sg.supportedOperations;
	out->subgroupQuadAllStages = sg.quadOperationsInAllStages;
	out->maxPerSetDescriptors = m3.maxPerSetDescriptors;
	out->maxMemoryAllocationSize = m3.maxMemoryAllocationSize;
	if (withDriver) {
		out->hasDriver = 1;
		out->driverID = drv.driverID;
		memcpy(out->driverName, drv.driverName, sizeof drv.driverName);
		memcpy(out->driverInfo, drv.driverInfo, sizeof drv.driverInfo);
		out->driverName[255] = 0;
		out->driverInfo[255] = 0;
	}
}

// Debug-utils messenger: messages are collected in C and drained by Go, so
// no Go code runs on driver threads.
typedef struct { uint32_t sType; const void* pNext; uint32_t flags; const char* pMessageIdName; int32_t messageIdNumber; const char* pMessage; } vkg_dbg_data;
typedef uint32_t (*vkg_dbg_cb_fn)(uint32_t severity, uint32_t types, const vkg_dbg_data* d, void* user);
typedef struct { uint32_t sType; const void* pNext; uint32_t flags; uint32_t messageSeverity; uint32_t messageType; vkg_dbg_cb_fn pfnUserCallback; void* pUserData; } vkg_dbg_ci;
typedef int32_t (*vkg_create_dbg_fn)(void* instance, const vkg_dbg_ci* ci, const void* alloc, void** messenger);
typedef void (*vkg_destroy_dbg_fn)(void* instance, void* messenger, const void* alloc);

#define VKG_MAX_MSGS 256
static pthread_mutex_t vkg_dbg_mu = PTHREAD_MUTEX_INITIALIZER;
static char* vkg_msgs[VKG_MAX_MSGS];
static int vkg_nmsgs;
static long vkg_total_msgs;

static uint32_t vkg_dbg_cb(uint32_t severity, uint32_t types, const vkg_dbg_data* d, void* user) {
	(void)types; (void)user;
	const char* sev = severity >= 0x1000 ? "error" : severity >= 0x100 ? "warning" : severity >= 0x10 ? "info" : "verbose";
	const char* msg = d && d->pMessage ? d->pMessage : "(no message)";
	size_t n = strlen(msg) + 32;
	char* s = (char*)malloc(n);
	if (s) snprintf(s, n, "%s: %s", sev, msg);
	pthread_mutex_lock(&vkg_dbg_mu);
	vkg_total_msgs++;
	if (s) {
		if (vkg_nmsgs < VKG_MAX_MSGS) vkg_msgs[vkg_nmsgs++] = s;
		else free(s);
	}
	pthread_mutex_unlock(&vkg_dbg_mu);
	return 0;
}

// Severity warning|error, types general|validation|performance.
static vkg_dbg_ci vkg_dbg_create_info = { VKG_ST_DEBUG_MESSENGER_CI, NULL, 0, 0x1100, 0x7, vkg_dbg_cb, NULL };
static void* vkg_dbg_ci_ptr(void) { return &vkg_dbg_create_info; }

static int32_t vkg_create_messenger(void* instance, void** messenger) {
	vkg_create_dbg_fn f = (vkg_create_dbg_fn)vkg_gipa(instance, "vkCreateDebugUtilsMessengerEXT");
	if (!f) return -7; // VK_ERROR_EXTENSION_NOT_PRESENT
	return f(instance, &vkg_dbg_create_info, NULL, messenger);
}

// vkg_take_msgs moves up to max collected messages into out and returns how
// many; the caller frees each string.
static int vkg_take_msgs(char** out, int max, long* total) {
	pthread_mutex_lock(&vkg_dbg_mu);
	int n = vkg_nmsgs < max ? vkg_nmsgs : max;
	for (int i = 0; i < n; i++) out[i] = vkg_msgs[i];
	memmove(vkg_msgs, vkg_msgs + n, (vkg_nmsgs - n) * sizeof(char*));
	vkg_nmsgs -= n;
	*total = vkg_total_msgs;
	pthread_mutex_unlock(&vkg_dbg_mu);
	return n;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// loaderName is the runtime loader's soname. libvulkan.so (no version) is
// only installed by the -dev package, so it is deliberately not used.
const loaderName = "libvulkan.so.1"

func loaderError(name, msg string) error {
	return fmt.Errorf("cannot load the Vulkan loader %s (install libvulkan1): %s", name, msg)
}

// gipaPtr is the loader's vkGetInstanceProcAddr (nil before loadLoader).
func gipaPtr() unsafe.Pointer { return C.vkg_gipa_ptr() }

// probeLoader checks that name can be loaded as a Vulkan loader, without
// keeping it loaded.
func probeLoader(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if msg := C.vkg_probe(cname); msg != nil {
		return loaderError(name, C.GoString(msg))
	}
	return nil
}

// loadLoader dlopens the Vulkan loader and initialises the binding.
func loadLoader() error {
	cname := C.CString(loaderName)
	defer C.free(unsafe.Pointer(cname))
	if msg := C.vkg_load(cname); msg != nil {
		return loaderError(loaderName, C.GoString(msg))
	}
	vk.SetGetInstanceProcAddr(C.vkg_gipa_ptr())
	if err := vk.Init(); err != nil {
		return fmt.Errorf("vulkan-go init: %w", err)
	}
	return nil
}

// props2 is what vkGetPhysicalDeviceProperties2 reports beyond the 1.0
// properties.
type props2 struct {
	ok                      bool
	subgroupSize            uint32
	subgroupStages          uint32
	subgroupOps             uint32
	subgroupQuadAllStages   bool
	maxPerSetDescriptors    uint32
	maxMemoryAllocationSize uint64
	hasDriver               bool
	driverID                uint32
	driverName, driverInfo  string
}

func physicalDeviceProps2(inst vk.Instance, pd vk.PhysicalDevice, withDriver bool) props2 {
	var out C.vkg_devinfo
	wd := C.int(0)
	if withDriver {
		wd = 1
	}
	C.vkg_device_props2(unsafe.Pointer(inst), unsafe.Pointer(pd), wd, &out)
	return props2{
		ok:                      out.ok != 0,
		subgroupSize:            uint32(out.subgroupSize),
		subgroupStages:          uint32(out.subgroupStages),
		subgroupOps:             uint32(out.subgroupOps),
		subgroupQuadAllStages:   out.subgroupQuadAllStages != 0,
		maxPerSetDescriptors:    uint32(out.maxPerSetDescriptors),
		maxMemoryAllocationSize: uint64(out.maxMemoryAllocationSize),
		hasDriver:               out.hasDriver != 0,
		driverID:                uint32(out.driverID),
		driverName:              C.GoString(&out.driverName[0]),
		driverInfo:              C.GoString(&out.driverInfo[0]),
	}
}

// debugMessengerCreateInfo is a C-allocated VkDebugUtilsMessengerCreateInfoEXT
// to chain into VkInstanceCreateInfo.pNext.
func debugMessengerCreateInfo() unsafe.Pointer { return C.vkg_dbg_ci_ptr() }

// createDebugMessenger installs the debug-utils messenger on inst.
func createDebugMessenger(inst vk.Instance) error {
	var m unsafe.Pointer
	if r := C.vkg_create_messenger(unsafe.Pointer(inst), &m); r != 0 {
		return fmt.Errorf("vkCreateDebugUtilsMessengerEXT: %w", vkError(vk.Result(r)))
	}
	return nil
}

// takeValidationMessages drains the messages collected by the messenger.
func takeValidationMessages() []string {
	var buf [64]*C.char
	var total C.long
	var out []string
	for {
		n := int(C.vkg_take_msgs(&buf[0], C.int(len(buf)), &total))
		for i := 0; i < n; i++ {
			out = append(out, C.GoString(buf[i]))
			C.free(unsafe.Pointer(buf[i]))
		}
		if n < len(buf) {
			return out
		}
	}
}
