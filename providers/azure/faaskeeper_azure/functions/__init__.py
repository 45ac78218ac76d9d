"""The deployment's functions on Azure Functions: the v2 app (:mod:`.function_app`), its entry
points (:mod:`.handlers`), the core's functions over one deployment (:mod:`.functions`), the watch
function's invocation (:mod:`.watch`) and the function host that serves the app on the emulators
(:mod:`.host`)."""
