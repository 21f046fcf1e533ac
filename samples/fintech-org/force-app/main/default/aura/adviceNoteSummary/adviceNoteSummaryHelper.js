({
    // Summary by OpenAI (US): the client's name and the advisor's free-text notes leave the EU.
    summarize: function (component) {
        var client = component.get("v.client");
        var action = component.get("c.summarizeNotes");
        action.setParams({
            clientName: client.FirstName + " " + client.LastName,
            notes: client.Description
        });
        action.setCallback(this, function (response) {
            if (response.getState() === "SUCCESS") {
                component.set("v.summary", response.getReturnValue());
            } else {
                this.showError(component, response.getError());
            }
        });
        $A.enqueueAction(action);
    },

    // Look-alike: the same notes, translated by Mistral's EU region.
    translate: function (component, language) {
        var action = component.get("c.translateNotes");
        action.setParams({ notes: component.get("v.client.Description"), targetLanguage: language });
        action.setCallback(this, function (response) {
            if (response.getState() === "SUCCESS") {
                component.set("v.translation", response.getReturnValue());
            } else {
                this.showError(component, response.getError());
            }
        });
        $A.enqueueAction(action);
    },

    showError: function (component, errors) {
        var message = errors && errors[0] && errors[0].message ? errors[0].message : "Unknown error";
        component.find("notifLib").showToast({ variant: "error", title: "Advice notes", message: message });
    }
})
